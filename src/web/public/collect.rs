//! `GET` and `POST /s/{token}`: the collection form, and sealing the password it sends.
//! Parse, call the domain, render; nothing here touches SQL or keys.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest as _, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::parse_collection_form;
use super::pages::{self, ErrorField, FormError, FormPage};
use crate::batch::{
    self, FailedAttempt, ImapCheck, LinkStatus, MailClient, PasswordProblem, SubmitOutcome,
};
use crate::config::{TimeZoneSetting, now};
use crate::crypto::LinkToken;
use crate::i18n::{self, Arg, Language};
use crate::imap::{self, Entry, Verdict, WhenUnreachable};
use crate::storage::LinkView;
use crate::web::brand::PageBrand;
use crate::web::error::GoneLink;
use crate::web::{AppError, AppState, DesignedPage, RetryAfter};
use secrecy::SecretString;

/// The reader's language for a page: the roster's (when the link is known), then the
/// browser's `Accept-Language`, then the batch's, then the server's default.
pub(super) fn language_for(
    state: &AppState,
    headers: &HeaderMap,
    view: Option<&LinkView>,
) -> Language {
    let tag = |t: Option<&String>| t.and_then(|t| Language::from_tag(t));
    view.and_then(|v| tag(v.recipient.language.as_ref()))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Language::from_accept_language)
        })
        .or_else(|| view.and_then(|v| tag(v.batch.language.as_ref())))
        .unwrap_or(state.config.language)
}

/// The time zone a link's pages write dates in: its batch's, else the server's.
pub(super) fn zone_of(state: &AppState, view: &LinkView) -> TimeZoneSetting {
    TimeZoneSetting::or_stored(view.batch.time_zone.as_deref(), &state.config.time_zone)
}

/// The 410 for a link that cannot take a password, in its reader's language (and, for a
/// used one, when the password came, in `zone`).
pub(super) fn gone(
    language: Language,
    status: LinkStatus,
    view: Option<(&LinkView, TimeZoneSetting)>,
    brand: Option<&PageBrand>,
) -> AppError {
    AppError::LinkGone(GoneLink {
        status,
        language,
        used_at: view.and_then(|(v, zone)| v.used_at.map(|at| (at, zone))),
        brand: brand.map(|b| Box::new(b.clone())),
        link: None,
    })
}

/// Who is asking, for a batch's pages: its settings are checked against their signature
/// once per request (what the pages show must be what the admin signed); a batch that
/// fails gets no branding (and, where a password could be typed, the 503 page).
pub(super) async fn checked_brand(
    state: &AppState,
    batch: &crate::storage::Batch,
) -> Option<PageBrand> {
    batch::require_signed_batch(&state.store, &state.config.settings_key, batch)
        .await
        .ok()
        .map(|()| PageBrand::of(batch))
}

/// Looks up a token from the URL; unknown and malformed tokens look the same.
/// A path segment that cannot even be decoded is an unknown link too. A format 2 link
/// whose batch was purged is answered from the tombstone: the collection has closed.
/// Answers the link, the language of its pages and who is asking. The batch's settings
/// are checked against their signature here, once: a usable link whose batch fails the
/// check is answered with the 503 page, not a form with a text nobody signed.
async fn usable_link(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
) -> Result<(LinkToken, Arc<LinkView>, Language, PageBrand), AppError> {
    let unknown = || AppError::UnknownLink(language_for(state, headers, None));
    let Ok(Path(token)) = token else {
        return Err(unknown());
    };
    let token = LinkToken::parse(&token).ok_or_else(unknown)?;
    let Some(view) = state.store.link_by_token_hash(&token.hash()).await? else {
        return Err(gone_or_unknown(state, &token, language_for(state, headers, None)).await);
    };
    let language = language_for(state, headers, Some(&view));
    let brand = checked_brand(state, &view.batch).await;
    match (LinkStatus::of(&view, now()), brand) {
        (LinkStatus::Usable, Some(brand)) => Ok((token, view, language, brand)),
        (LinkStatus::Usable, None) => Err(AppError::SettingsUnverified),
        (other, brand) => Err(gone_with_ways(
            state,
            &token,
            language,
            other,
            &view,
            brand.as_ref(),
        )),
    }
}

/// The 410 for a known link, with the ways out that still make sense on its page
/// ("This wasn't me" on a used link, say).
pub(super) fn gone_with_ways(
    state: &AppState,
    token: &LinkToken,
    language: Language,
    status: LinkStatus,
    view: &LinkView,
    brand: Option<&PageBrand>,
) -> AppError {
    let mut error = gone(language, status, Some((view, zone_of(state, view))), brand);
    if let AppError::LinkGone(g) = &mut error {
        g.link = Some(state.config.public_url.link_for(token.expose()));
    }
    error
}

/// Why a token names no link: its batch was purged (410, from the tombstone), or it is
/// unknown (404); either page in `language`.
pub(super) async fn gone_or_unknown(
    state: &AppState,
    token: &LinkToken,
    language: Language,
) -> AppError {
    match batch::closed_collection(&state.store, token).await {
        Ok(Some(tombstone)) => AppError::CollectionClosed(tombstone.org_name, language),
        Ok(None) => {
            // A link nobody issued whose tag names a live batch: that batch's contact.
            let batch = match token.tag() {
                Some(tag) => state.store.batch_by_link_tag(&tag).await.ok().flatten(),
                None => None,
            };
            let brand = match &batch {
                Some(b) => checked_brand(state, b).await,
                None => None,
            };
            match brand {
                Some(brand) => AppError::UnknownLinkOf(language, Box::new(brand)),
                None => AppError::UnknownLink(language),
            }
        }
        Err(e) => e.into(),
    }
}

/// How many refusals a link still takes before it locks.
fn tries_left(view: &LinkView) -> i64 {
    batch::MAX_FAILED_ATTEMPTS - view.failed_attempts
}

// One argument per thing the form shows; a struct would only rename FormPage.
#[allow(clippy::too_many_arguments)]
fn form_page(
    view: &LinkView,
    zone: &TimeZoneSetting,
    link: &str,
    language: Language,
    mail_client: Option<MailClient>,
    tries_left: i64,
    error: Option<FormError>,
    brand: &PageBrand,
) -> maud::Markup {
    pages::collection_form(&FormPage {
        language,
        org_name: view.batch.org_name.as_deref(),
        email: &view.recipient.email,
        expires_at: view.expires_at,
        time_zone: zone,
        ask_mail_client: view.batch.ask_mail_client,
        checked_with: view.batch.imap.as_ref().map(|i| i.server.host.as_str()),
        mail_client,
        tries_left,
        error,
        brand: Some(brand),
        link: Some(link),
    })
}

/// A problem to show on the form, in the reader's language.
fn problem(language: Language, field: ErrorField, key: &str) -> FormError {
    FormError {
        field,
        message: i18n::text(language, key),
    }
}

/// The catalogue key saying why a form body could not be read.
fn form_error_key(error: super::form::FormError) -> &'static str {
    use super::form::FormError as E;
    match error {
        E::NotUtf8 => "error-not-utf8",
        E::RepeatedField => "error-repeated-field",
        E::MissingField => "error-missing-field",
        E::Malformed => "error-malformed",
    }
}

/// The catalogue key saying why a typed password was refused.
fn password_problem_key(problem: PasswordProblem) -> &'static str {
    match problem {
        PasswordProblem::Empty => "error-password-empty",
        PasswordProblem::TooLong => "error-password-too-long",
        PasswordProblem::ForbiddenCharacter => "error-password-forbidden",
        PasswordProblem::Mismatch => "error-password-mismatch",
    }
}

/// `GET /s/{token}`: the collection form. Never changes the link. (The request is
/// taken whole for its headers: axum's `HeaderMap` extractor would copy them.)
pub async fn show(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    request: axum::extract::Request,
) -> Response {
    let headers = request.headers();
    // The language of an error page is only worked out when there is one.
    show_form(&state, token, headers)
        .await
        .unwrap_or_else(|e| e.into_response_in(language_for(&state, headers, None)))
}

async fn show_form(
    state: &AppState,
    token: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    // What the page shows (the organisation, the old server, the contact) must be what
    // the admin signed: a row changed outside passdrop gets the 503 page, not a
    // phishing text (checked in `usable_link`).
    let (token, view, language, brand) = usable_link(state, token, headers).await?;
    // Tells the admin the message arrived; it does not use the link up. Only the first
    // visit writes.
    if view.opened_at.is_none() {
        state.store.mark_opened(&token.hash(), now()).await?;
    }
    let zone = zone_of(state, &view);
    let link = state.config.public_url.link_for(token.expose());
    Ok(form_page(
        &view,
        &zone,
        &link,
        language,
        None,
        tries_left(&view),
        None,
        &brand,
    )
    .into_response())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// `POST /s/{token}`: seal the password and burn the link, or explain what is wrong
/// (422 with the form again; the link stays usable until too many refusals lock it).
///
/// What counts toward the lock: a password the old server clearly refused (a NO to the
/// login, other than "not now" or "an application password is required"), and input no
/// person types by mistake (a body that is not the form, garbled or with repeated
/// fields, a forbidden character). What never counts: an empty form (what link scanners
/// send), an empty password, two fields that differ (nothing was checked with any
/// server), and a check the server gave no clear answer to (a timeout, BYE, a lost
/// connection, `[UNAVAILABLE]`, a queue that did not move: the user is asked to try
/// again later).
///
/// (The request is taken whole: axum's `HeaderMap` extractor would copy the headers; the
/// body is read by axum's `Bytes` extractor, with its limit and its answer past it.)
pub async fn submit(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
    mut request: axum::extract::Request,
) -> Response {
    let headers = std::mem::take(request.headers_mut());
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    let language = language_for(&state, &headers, None);
    submit_form(state, token, headers, body)
        .await
        .unwrap_or_else(|e| e.into_response_in(language))
}

async fn submit_form(
    state: AppState,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let (token, view, language, brand) = usable_link(&state, token, &headers).await?;
    let reader = Reader {
        state: &state,
        token: &token,
        view: &view,
        language,
        brand: &brand,
    };
    if !is_form(&headers) {
        let error = problem(language, ErrorField::Form, "error-not-a-form");
        return reader.refuse(None, error).await;
    }
    let form = match parse_collection_form(&body) {
        Ok(form) => form,
        Err(e) => {
            let error = problem(language, ErrorField::Form, form_error_key(e));
            if e == super::form::FormError::MissingField {
                state.metrics.submission("refused");
                return Ok(reader.uncounted(StatusCode::UNPROCESSABLE_ENTITY, None, error));
            }
            return reader.refuse(None, error).await;
        }
    };
    let mail_client = match form.mail_client.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(value) => match MailClient::parse(value) {
            Some(choice) if view.batch.ask_mail_client => Some(choice),
            Some(_) => None,
            None => {
                let error = problem(language, ErrorField::MailClient, "error-mail-client");
                return reader.refuse(None, error).await;
            }
        },
    };
    // A batch that checks passwords with the old server asks for the password once: the
    // server's answer replaces typing it twice. Otherwise `password_confirm` is optional
    // (the form's script shows one field with a show/hide toggle) but must match if sent.
    let confirm = match (&view.batch.imap, &form.password_confirm) {
        (None, Some(confirm)) => confirm,
        _ => &form.password,
    };
    if let Err(refusal) = batch::check_password(&form.password, confirm) {
        let field = match refusal {
            PasswordProblem::Mismatch => ErrorField::BothPasswords,
            _ => ErrorField::Password,
        };
        let error = problem(language, field, password_problem_key(refusal));
        return match refusal {
            PasswordProblem::Empty | PasswordProblem::Mismatch => {
                state.metrics.submission("refused");
                Ok(reader.uncounted(StatusCode::UNPROCESSABLE_ENTITY, mail_client, error))
            }
            PasswordProblem::TooLong | PasswordProblem::ForbiddenCharacter => {
                reader.refuse(mail_client, error).await
            }
        };
    }
    let Some(server) = view.batch.imap.as_ref().map(|i| i.server.clone()) else {
        return reader.accept(&form.password, mail_client, None).await;
    };
    // The check, and what follows from it, runs in a task of its own: a client that
    // hangs up (or the request timeout) cannot cancel it once the password is on its
    // way, so every clear refusal is counted.
    let task = tokio::spawn(checked_submit(
        state.clone(),
        token,
        server,
        language,
        form.password,
        mail_client,
        brand.clone(),
    ));
    task.await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password check task failed: {e}")))?
}

/// Checks a password with the batch's old IMAP server (waiting for its turn in that
/// server's queue), then accepts it, refuses it (counted toward the link's cap only when
/// the server clearly refused it), or asks the user to try again later.
async fn checked_submit(
    state: AppState,
    token: LinkToken,
    server: imap::ImapServer,
    language: Language,
    password: SecretString,
    mail_client: Option<MailClient>,
    brand: PageBrand,
) -> Result<Response, AppError> {
    let entry = state.imap_gate.enter(token.hash(), &server).await;
    // The link (or its batch's settings) may have changed while this request waited.
    let Some(view) = state.store.link_by_token_hash(&token.hash()).await? else {
        return Err(gone_or_unknown(&state, &token, language).await);
    };
    match LinkStatus::of(&view, now()) {
        LinkStatus::Usable => {}
        other => {
            let zone = zone_of(&state, &view);
            return Err(gone(language, other, Some((&view, zone)), Some(&brand)));
        }
    }
    let reader = Reader {
        state: &state,
        token: &token,
        view: &view,
        language,
        brand: &brand,
    };
    let pass = match entry {
        Entry::Admitted(pass) => pass,
        Entry::AlreadyChecking => {
            let error = problem(language, ErrorField::Form, "error-already-checking");
            return Ok(reader.uncounted(StatusCode::TOO_MANY_REQUESTS, mail_client, error));
        }
        Entry::Busy => return Ok(reader.try_again_later(mail_client, tries_left(&view))),
    };
    let Some(settings) = view.batch.imap.clone() else {
        return reader.accept(&password, mail_client, None).await;
    };
    let cap = state.config.imap_uncounted_per_link; // its own cap per hour (SECURITY.md)
    if let Some(wait) = batch::uncounted_cap_wait(&state.store, &token.hash(), cap, now()).await? {
        let error = problem(language, ErrorField::Form, "error-uncounted-cap");
        let page = reader.uncounted(StatusCode::SERVICE_UNAVAILABLE, mail_client, error);
        return Ok((RetryAfter(wait), page).into_response());
    }
    // No password goes to a server the admin did not sign for.
    batch::require_signed_batch(&state.store, &state.config.settings_key, &view.batch).await?;
    let (verdict, session) = tokio::time::timeout(
        imap::CHECK_DEADLINE,
        imap::verify_password_keeping(&settings, &view.recipient.user_name, &password),
    )
    .await
    .unwrap_or((
        Verdict::NoAnswer(imap::ImapProblem::Timeout("the whole check")),
        None,
    ));
    state.metrics.imap_check(match &verdict {
        Verdict::Accepted => "accepted",
        Verdict::Rejected => "rejected",
        Verdict::RefusedOther(_) => "refused_other",
        Verdict::AppPasswordRequired(_) => "app_password_required",
        Verdict::CouldNotCheck(_) => "could_not_check",
        Verdict::NoAnswer(_) => "no_answer",
    });
    let (batch_id, recipient_id) = (&view.batch.id, view.recipient.id);
    if let Some(warning) = pass.record(&verdict) {
        // Said once when it starts (in the log and the batch's audit trail: no user data).
        tracing::warn!(%batch_id, server = %settings.server, %warning, "the IMAP server seems to be throttling passdrop");
        state
            .store
            .record_event(batch_id, batch::throttling_event(), 1, now())
            .await?;
    }
    batch::note_if_uncounted(&state.store, &token.hash(), &verdict, now()).await?;
    // `pass` stays held until this try is counted, so a second request on the same link
    // cannot start a check before then.
    let host = settings.server.host.as_str();
    match verdict {
        Verdict::Accepted => {
            let answer = reader
                .accept(&password, mail_client, Some(ImapCheck::Verified))
                .await;
            // The mailbox inventory reads on in the background: never delays this answer.
            if let (Ok(_), Some(session)) = (&answer, session) {
                batch::readiness::spawn_inventory(state.store.clone(), session, recipient_id);
            }
            answer
        }
        Verdict::Rejected => {
            tracing::info!(%batch_id, recipient_id, "the IMAP server refused a submitted password");
            let message = i18n::text_with(
                language,
                "error-server-rejected",
                &[
                    ("host", Arg::Text(host)),
                    ("email", Arg::Text(&view.recipient.email)),
                ],
            );
            let error = FormError {
                field: ErrorField::Password,
                message,
            };
            reader.refuse(mail_client, error).await
        }
        Verdict::RefusedOther(reason) => {
            tracing::warn!(%batch_id, recipient_id, %reason, "the IMAP server refused a login for a stated reason");
            let message = i18n::text_with(
                language,
                "error-server-refused",
                &[("host", Arg::Text(host)), ("reason", Arg::Text(&reason))],
            );
            let error = FormError {
                field: ErrorField::Password,
                message,
            };
            reader.refuse(mail_client, error).await
        }
        Verdict::AppPasswordRequired(reason) => {
            // Not a wrong password, and nothing this user can fix by typing again: never
            // counted; noted on the user's row for the admin's readiness report.
            tracing::warn!(%batch_id, recipient_id, %reason, "the IMAP server asks for an application password");
            batch::note_app_password_required(&state.store, recipient_id, now()).await?;
            let message = i18n::text_with(
                language,
                "error-app-password",
                &[
                    ("host", Arg::Text(host)),
                    ("email", Arg::Text(&view.recipient.email)),
                ],
            );
            let error = FormError {
                field: ErrorField::Password,
                message,
            };
            state.metrics.submission("refused");
            Ok(reader.uncounted(StatusCode::UNPROCESSABLE_ENTITY, mail_client, error))
        }
        Verdict::CouldNotCheck(problem) => {
            tracing::warn!(%batch_id, recipient_id, server = %settings.server, %problem, "could not reach the IMAP server to check a password");
            match settings.when_unreachable {
                WhenUnreachable::AcceptUnverified => {
                    reader
                        .accept(&password, mail_client, Some(ImapCheck::Unverified))
                        .await
                }
                WhenUnreachable::AskToRetry => {
                    state.metrics.submission("try_later");
                    Ok(reader.try_again_later(mail_client, tries_left(&view)))
                }
            }
        }
        Verdict::NoAnswer(problem) => {
            // No clear answer is no verdict on the password: nothing counts, and the
            // password is not kept, whatever the policy (it may well be wrong).
            tracing::warn!(%batch_id, recipient_id, server = %settings.server, %problem, "the IMAP server gave no clear answer to a password check");
            state.metrics.submission("try_later");
            Ok(reader.try_again_later(mail_client, tries_left(&view)))
        }
    }
}

/// One submission on a usable link, and the language its answers are in.
struct Reader<'a> {
    state: &'a AppState,
    token: &'a LinkToken,
    view: &'a Arc<LinkView>,
    language: Language,
    brand: &'a PageBrand,
}

impl Reader<'_> {
    /// The link's address (the form's ways out are under it).
    fn link(&self) -> String {
        self.state.config.public_url.link_for(self.token.expose())
    }

    /// 503 with the form: the password could not be checked now; the link still works.
    fn try_again_later(&self, mail_client: Option<MailClient>, tries_left: i64) -> Response {
        let error = problem(self.language, ErrorField::Form, "error-try-later");
        let page = form_page(
            self.view,
            &zone_of(self.state, self.view),
            &self.link(),
            self.language,
            mail_client,
            tries_left,
            Some(error),
            self.brand,
        );
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
        response
    }

    /// Seals the password and burns the link.
    async fn accept(
        &self,
        password: &SecretString,
        mail_client: Option<MailClient>,
        imap_check: Option<ImapCheck>,
    ) -> Result<Response, AppError> {
        let (state, view) = (self.state, self.view);
        // In a task of its own, so a dropped request still gets its question.
        let token = LinkToken::parse(self.token.expose())
            .ok_or_else(|| anyhow::anyhow!("a parsed link token did not parse again"))?;
        let submission = (
            token,
            Arc::clone(view),
            password.clone(),
            mail_client,
            imap_check,
        );
        let outcome = super::completion::submit_then_ask(state, submission).await?;
        match outcome? {
            SubmitOutcome::Accepted => {
                state.metrics.submission("accepted");
                tracing::info!(
                    batch_id = %view.batch.id,
                    recipient_id = view.recipient.id,
                    imap_check = imap_check.map_or("none", ImapCheck::as_str),
                    "password submitted"
                );
                Ok(pages::submitted(
                    self.language,
                    &view.recipient.email,
                    view.batch.next_steps.as_deref(),
                    Some(self.brand),
                )
                .into_response())
            }
            SubmitOutcome::Refused(status) => {
                state.metrics.submission("gone");
                Err(gone(self.language, status, None, Some(self.brand)))
            }
        }
    }

    /// Answers a refused submission that counts toward the lock: 422 with the form and
    /// the reason, or 410 once the refusals have locked the link.
    async fn refuse(
        &self,
        mail_client: Option<MailClient>,
        error: FormError,
    ) -> Result<Response, AppError> {
        let (state, view) = (self.state, self.view);
        state.metrics.submission("refused");
        let tries_left = match batch::record_failed_attempt(&state.store, self.token, now()).await?
        {
            FailedAttempt::Counted { tries_left } => tries_left,
            FailedAttempt::Locked => {
                tracing::warn!(
                    batch_id = %view.batch.id,
                    recipient_id = view.recipient.id,
                    "link locked after too many refused submissions"
                );
                return Err(gone(
                    self.language,
                    LinkStatus::Locked,
                    None,
                    Some(self.brand),
                ));
            }
            // Another request used the link (or the admin acted) meanwhile.
            FailedAttempt::NoLongerLive(status) => {
                return Err(gone(self.language, status, None, Some(self.brand)));
            }
        };
        let zone = zone_of(state, view);
        let page = form_page(
            view,
            &zone,
            &self.link(),
            self.language,
            mail_client,
            tries_left,
            Some(error),
            self.brand,
        );
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    }

    /// The form again with a problem, without counting it against the link.
    fn uncounted(
        &self,
        status: StatusCode,
        mail_client: Option<MailClient>,
        error: FormError,
    ) -> Response {
        let page = form_page(
            self.view,
            &zone_of(self.state, self.view),
            &self.link(),
            self.language,
            mail_client,
            tries_left(self.view),
            Some(error),
            self.brand,
        );
        (status, DesignedPage, page).into_response()
    }
}
