//! The user's ways out, under the link's own path: `GET /s/{token}/password` ("I don't
//! know my password"), `GET|POST /s/{token}/help` ("I need help") and `GET|POST
//! /s/{token}/not-me` ("This wasn't me"). A GET never changes anything; a POST changes
//! something only with the confirmation box ticked by hand (`confirm=yes`), so a mail
//! scanner that opens links and submits forms with their default values changes
//! nothing. Which link states each way takes: "I don't know" only a usable link;
//! "I need help" a usable, locked or expired one; "This wasn't me" those and a used one
//! (a user who did not send the password it received must be able to say so).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::collect::{checked_brand, gone_or_unknown, gone_with_ways, language_for};
use super::ways_pages::{self, CONFIRM_FIELD, CONFIRM_VALUE, Confirmation, Ways};
use crate::batch::{LinkStatus, events};
use crate::config::now;
use crate::crypto::LinkToken;
use crate::i18n::{self, Language};
use crate::outbox::notify;
use crate::storage::LinkView;
use crate::web::brand::PageBrand;
use crate::web::{AppError, AppState};

/// Which way out a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    DontKnow,
    Help,
    NotMe,
}

impl Way {
    fn takes(self, status: LinkStatus) -> bool {
        use LinkStatus as S;
        match self {
            Self::DontKnow => status == S::Usable,
            Self::Help => matches!(status, S::Usable | S::Locked | S::Expired),
            Self::NotMe => matches!(status, S::Usable | S::Used | S::Locked | S::Expired),
        }
    }
}

/// The link a way-out page is for, with its state; the page of a link this way does
/// not take otherwise. A reported link (revoked by the report) answers "reported" again
/// on its "This wasn't me" page (a used one too), so a reload shows what was done.
struct Found {
    token: LinkToken,
    view: std::sync::Arc<LinkView>,
    language: Language,
    status: LinkStatus,
    /// The user has reported their link already.
    reported: bool,
    /// Who is asking, from the batch's checked signature (as on the form).
    brand: PageBrand,
}

async fn find(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    way: Way,
) -> Result<Found, AppError> {
    let unknown = || AppError::UnknownLink(language_for(state, headers, None));
    let Ok(Path(token)) = token else {
        return Err(unknown());
    };
    let token = LinkToken::parse(&token).ok_or_else(unknown)?;
    let Some(view) = state.store.link_by_token_hash(&token.hash()).await? else {
        return Err(gone_or_unknown(state, &token, language_for(state, headers, None)).await);
    };
    let language = language_for(state, headers, Some(&view));
    let status = LinkStatus::of(&view, now());
    let reported = way == Way::NotMe
        && matches!(status, LinkStatus::Revoked | LinkStatus::Used)
        && state.store.is_reported(view.recipient.id).await?;
    // What the page shows (the organisation, the contact) must be what the admin signed.
    let brand = checked_brand(state, &view.batch).await;
    if !(way.takes(status) || reported) {
        return Err(gone_with_ways(
            state,
            &token,
            language,
            status,
            &view,
            brand.as_ref(),
        ));
    }
    let Some(brand) = brand else {
        return Err(AppError::SettingsUnverified);
    };
    Ok(Found {
        token,
        view,
        language,
        status,
        reported,
        brand,
    })
}

impl Found {
    fn link(&self, state: &AppState) -> String {
        state.config.public_url.link_for(self.token.expose())
    }

    /// The form's address when the link still takes a password.
    fn back(&self, state: &AppState) -> Option<String> {
        (self.status == LinkStatus::Usable).then(|| self.link(state))
    }

    /// The confirmation page of `which`; `again` after a POST without the box ticked.
    fn confirmation(&self, state: &AppState, which: Confirmation, again: bool) -> maud::Markup {
        ways_pages::confirm(
            self.language,
            which,
            &self.view.recipient.email,
            self.back(state).as_deref(),
            again,
            Some(&self.brand),
        )
    }
}

/// Whether a POST body carries the ticked box. Anything else (another content type, a
/// garbled body, the box missing) is "not confirmed": nothing changes.
fn confirmed(headers: &HeaderMap, body: &[u8]) -> bool {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let wanted = format!("{CONFIRM_FIELD}={CONFIRM_VALUE}");
    is_form
        && std::str::from_utf8(body).is_ok_and(|text| text.split('&').any(|pair| pair == wanted))
}

/// Renders `result`, or the error page in the reader's language.
fn answer(state: &AppState, headers: &HeaderMap, result: Result<Response, AppError>) -> Response {
    result.unwrap_or_else(|e| e.into_response_in(language_for(state, headers, None)))
}

/// `GET /s/{token}/password`: "I don't know my password". Changes nothing.
pub async fn dont_know(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let found = find(&state, token, &headers, Way::DontKnow).await?;
        let asker = found
            .view
            .batch
            .org_name
            .clone()
            .unwrap_or_else(|| i18n::text(found.language, "form-asker-default"));
        let link = found.link(&state);
        let ways = Ways { link: &link };
        Ok(ways_pages::dont_know(found.language, &asker, ways, Some(&found.brand)).into_response())
    }
    .await;
    answer(&state, &headers, result)
}

/// `GET /s/{token}/help`: the "I need help" confirmation. Changes nothing.
pub async fn help_form(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let found = find(&state, token, &headers, Way::Help).await?;
        Ok(found
            .confirmation(&state, Confirmation::Help, false)
            .into_response())
    }
    .await;
    answer(&state, &headers, result)
}

/// `POST /s/{token}/help`: with the box ticked, marks the user "needs help" (the link
/// stays as it is) and tells the admin; without, the page again (422), nothing changed.
pub async fn help_submit(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let found = find(&state, token, &headers, Way::Help).await?;
        if !confirmed(&headers, &body) {
            let page = found.confirmation(&state, Confirmation::Help, true);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        let emailed = notify::relay_is_set(&state.store, state.config.smtp.as_ref()).await?;
        let mark = events::ask_for_help(&state.store, &found.token, emailed, now()).await?;
        if mark.is_none() {
            return Err(gone_or_unknown(&state, &found.token, found.language).await);
        }
        state.notifier.wake();
        let back = found.back(&state);
        let brand = Some(&found.brand);
        Ok(ways_pages::help_done(found.language, emailed, back.as_deref(), brand).into_response())
    }
    .await;
    answer(&state, &headers, result)
}

/// `GET /s/{token}/not-me`: the "This wasn't me" confirmation (or, once reported, what
/// was done). Changes nothing.
pub async fn not_me_form(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let found = find(&state, token, &headers, Way::NotMe).await?;
        if found.reported {
            return reported_page(&state, &found).await;
        }
        Ok(found
            .confirmation(&state, Confirmation::NotMe, false)
            .into_response())
    }
    .await;
    answer(&state, &headers, result)
}

/// `POST /s/{token}/not-me`: with the box ticked, revokes the link, marks the user
/// reported and tells the admin (one transaction); without, the page again (422),
/// nothing changed.
pub async fn not_me_submit(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let found = find(&state, token, &headers, Way::NotMe).await?;
        if found.reported {
            return reported_page(&state, &found).await;
        }
        if !confirmed(&headers, &body) {
            let page = found.confirmation(&state, Confirmation::NotMe, true);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        let emailed = notify::relay_is_set(&state.store, state.config.smtp.as_ref()).await?;
        let Some(mark) = events::report(&state.store, &found.token, emailed, now()).await? else {
            return Err(gone_or_unknown(&state, &found.token, found.language).await);
        };
        state.notifier.wake();
        let brand = Some(&found.brand);
        Ok(ways_pages::not_me_done(found.language, emailed, mark.after_use, brand).into_response())
    }
    .await;
    answer(&state, &headers, result)
}

/// What a reported link's "This wasn't me" page shows on a reload.
async fn reported_page(state: &AppState, found: &Found) -> Result<Response, AppError> {
    let emailed = notify::relay_is_set(&state.store, state.config.smtp.as_ref()).await?;
    let after_use = found.view.used_at.is_some();
    let brand = Some(&found.brand);
    Ok(ways_pages::not_me_done(found.language, emailed, after_use, brand).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_ticked_box_sent_as_a_form_confirms() {
        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(confirmed(&form, b"confirm=yes"));
        assert!(confirmed(&form, b"x=1&confirm=yes"));
        for body in [
            &b""[..],
            b"confirm=",
            b"confirm=on",
            b"confirm=yes2",
            b"\xff",
        ] {
            assert!(!confirmed(&form, body), "{body:?}");
        }
        assert!(!confirmed(&HeaderMap::new(), b"confirm=yes"));
    }

    #[test]
    fn the_ways_paths_never_log_their_token() {
        let token = "2.0123456789ab.".to_owned() + &"A".repeat(43);
        for way in ["password", "help", "not-me"] {
            let logged = crate::web::middleware::redact_path(&format!("/s/{token}/{way}"));
            assert!(
                !logged.contains("AAAA") && !logged.contains("0123"),
                "{logged}"
            );
        }
    }

    #[test]
    fn each_way_takes_the_link_states_it_makes_sense_for() {
        use LinkStatus as S;
        assert!(Way::DontKnow.takes(S::Usable) && !Way::DontKnow.takes(S::Used));
        assert!(Way::Help.takes(S::Locked) && !Way::Help.takes(S::Used));
        assert!(Way::NotMe.takes(S::Used) && Way::NotMe.takes(S::Expired));
        for way in [Way::DontKnow, Way::Help, Way::NotMe] {
            assert!(!way.takes(S::Revoked) && !way.takes(S::Replaced));
        }
    }
}
