//! The admin console through HTTP: log in, then GET a page or POST a form with the
//! session cookie.

/// The `name=value` part of a response's `Set-Cookie`.
pub fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Logs in to the console of `server`; returns the cookie header value.
pub async fn console_login(client: &reqwest::Client, address: &str, passphrase: &str) -> String {
    let r = client
        .post(format!("{address}/admin/login"))
        .form(&[("passphrase", passphrase)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login failed");
    crate::helpers::cookie_of(&r)
}

pub async fn console_get(client: &reqwest::Client, url: &str, cookie: &str) -> String {
    let r = client
        .get(url)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// POSTs a console form. A success answers 303 (Post/Redirect/Get): then, as a browser
/// would, the `Location` is fetched with the same cookie, and its page returned with
/// the 303.
pub async fn console_post(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    form: &(impl serde::Serialize + ?Sized),
) -> (u16, String) {
    let r = client
        .post(url)
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    follow(client, url, cookie, r).await
}

/// The page a console response leads to: its own body, or for a 303 the page at its
/// `Location` (fetched with `cookie`), with the response's status.
pub async fn follow(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    r: reqwest::Response,
) -> (u16, String) {
    let status = r.status().as_u16();
    if status != 303 {
        return (status, r.text().await.unwrap());
    }
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with('/'), "{location}");
    let origin = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let page = client
        .get(format!("{origin}{location}"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "GET {location}");
    (status, page.text().await.unwrap())
}
