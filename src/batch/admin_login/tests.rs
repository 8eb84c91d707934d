//! Unit tests of the admin login forms, the probe's verdicts and the export rule.

use super::*;

fn user(name: &str, root: Option<&str>) -> Recipient {
    Recipient {
        id: 1,
        batch_id: "b".into(),
        roster_line: 2,
        email: "ann@example.org".into(),
        user_name: name.into(),
        display_name: None,
        alternate_email: None,
        user_root: root.map(str::to_owned),
        language: None,
    }
}

#[test]
fn each_form_writes_microsofts_user_name() {
    let ann = user("ann@example.org", None);
    let dovecot = AdminLogin::new(AdminForm::Dovecot, "mailadmin", None).unwrap();
    assert_eq!(
        dovecot.login_for(&ann.user_name),
        "ann@example.org*mailadmin"
    );
    assert_eq!(dovecot.user_root_for(&ann), None);
    let hash = AdminLogin::new(AdminForm::Dovecot, "mailadmin", Some("%")).unwrap();
    assert_eq!(hash.login_for("ann"), "ann%mailadmin");
    let exchange = AdminLogin::new(AdminForm::Exchange, "contoso/mailadmin", None).unwrap();
    assert_eq!(
        exchange.login_for("terry.adams"),
        "contoso/mailadmin/terry.adams"
    );
    let mirapoint = AdminLogin::new(AdminForm::Mirapoint, "mailadmin", None).unwrap();
    assert_eq!(
        mirapoint.login_for("terry.adams@contoso.edu"),
        "#terry.adams@contoso.edu#mailadmin#"
    );
    let root = AdminLogin::new(AdminForm::UserRoot, "mailadmin", None).unwrap();
    assert_eq!(root.login_for("terry.adams"), "mailadmin");
    assert_eq!(
        root.user_root_for(&user("terry.adams", None)).as_deref(),
        Some("/users/terry.adams")
    );
    assert_eq!(
        root.user_root_for(&user("terry.adams", Some("/home/ta")))
            .as_deref(),
        Some("/home/ta")
    );
}

#[test]
fn bad_admin_logins_say_what_is_wrong() {
    for (form, login, sep) in [
        (AdminForm::Dovecot, "", None),
        (AdminForm::Dovecot, "mail admin", None),
        (AdminForm::Dovecot, "mail*admin", None),
        (AdminForm::Dovecot, "mailadmin", Some("x")),
        (AdminForm::Dovecot, "mailadmin", Some("")),
        (AdminForm::Exchange, "mailadmin", None),
        (AdminForm::Exchange, "a/b/c", None),
        (AdminForm::Mirapoint, "mail#admin", None),
        (AdminForm::Mirapoint, "mailadmin", Some("*")),
        (AdminForm::UserRoot, "admin\u{7}", None),
    ] {
        let e = AdminLogin::new(form, login, sep).unwrap_err();
        assert!(!e.is_empty(), "{form:?} {login:?}");
    }
    assert!(AdminForm::parse("cyrus").unwrap_err().contains("dovecot"));
    for form in [
        AdminForm::Dovecot,
        AdminForm::Exchange,
        AdminForm::Mirapoint,
        AdminForm::UserRoot,
    ] {
        assert_eq!(AdminForm::parse(form.as_str()), Ok(form));
    }
}

#[test]
fn only_a_clear_yes_covers_and_a_wrong_admin_password_stops() {
    assert_eq!(classify(Verdict::Accepted), ProbeOutcome::Covered);
    assert_eq!(classify(Verdict::Rejected), ProbeOutcome::AdminRefused);
    assert_eq!(
        classify(Verdict::RefusedOther(
            "[AUTHORIZATIONFAILED] Authorization failed".into()
        )),
        ProbeOutcome::NeedsPassword("[AUTHORIZATIONFAILED] Authorization failed".into())
    );
    assert!(matches!(
        classify(Verdict::NoAnswer(imap::ImapProblem::Timeout("logging in"))),
        ProbeOutcome::Unclear(_)
    ));
}

#[test]
fn the_export_prefers_the_users_own_password() {
    let own = SecretBox::from(Box::<[u8]>::from(&b"own"[..]));
    let admin_pw = SecretBox::from(Box::<[u8]>::from(&b"admin"[..]));
    let dovecot = AdminLogin::new(AdminForm::Dovecot, "mailadmin", None).unwrap();
    let ann = user("ann@example.org", None);
    let (name, pw, root) = export_row_for(&ann, Some(&own), Some((&dovecot, &admin_pw))).unwrap();
    assert_eq!(
        (name.as_str(), pw.expose_secret(), root),
        ("ann@example.org", &b"own"[..], None)
    );
    let (name, pw, _) = export_row_for(&ann, None, Some((&dovecot, &admin_pw))).unwrap();
    assert_eq!(
        (name.as_str(), pw.expose_secret()),
        ("ann@example.org*mailadmin", &b"admin"[..])
    );
    assert!(export_row_for(&ann, None, None).is_none());
}
