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
    (r.status().as_u16(), r.text().await.unwrap())
}
