//! `signed.rs`' tests: the key file, signing and checking a batch, and how often the
//! key file is looked at.

use super::*;

#[test]
fn checking_a_batch_before_a_submission_is_cheap() {
    let passphrase = SecretString::from("signed settings unit test".to_owned());
    let kdf = KdfParams {
        m_cost: 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let wrapped = crypto::create_admin_key(&passphrase, kdf).unwrap();
    let admin = crypto::unlock_admin_key(&wrapped, &passphrase).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = SettingsKeyFile::new(dir.path().join("k.pub"));
    assert_eq!(
        install_settings_key(&admin, &key_file, false).unwrap(),
        KeyFileWrite::Written
    );
    assert_eq!(
        install_settings_key(&admin, &key_file, false).unwrap(),
        KeyFileWrite::Unchanged
    );
    let mut batch = Batch {
        name: "b".into(),
        org_name: Some("Example".into()),
        expires_at: 1,
        link_lifetime_secs: 1,
        ask_mail_client: true,
        public_key: vec![7; 32],
        retain_after_expiry_secs: 0,
        retain_after_export_secs: 0,
        ..Batch::for_tests("0123456789abcdef")
    };
    let signer = settings_signer(&admin).unwrap();
    batch.settings_sig = Some(sign_batch(&signer, &batch));
    let rounds = 500;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let public = key_file.load().unwrap();
        verify_batch(&public, &batch).unwrap();
    }
    let each = started.elapsed() / rounds;
    println!("reading the key file and checking one signature: {each:?}");
    assert!(each < std::time::Duration::from_millis(5), "{each:?}");
    // Another admin's key file: refused, and not overwritten without asking.
    let other = crypto::create_admin_key(&passphrase, kdf).unwrap();
    let other = crypto::unlock_admin_key(&other, &passphrase).unwrap();
    assert!(install_settings_key(&other, &key_file, false).is_err());
    let other_public = settings_signer(&other).unwrap().public_key();
    assert!(matches!(
        verify_batch(&other_public, &batch),
        Err(SettingsError::Mismatch(_))
    ));
    batch.settings_sig = None;
    assert!(matches!(
        verify_batch(&key_file.load().unwrap(), &batch),
        Err(SettingsError::Unsigned(_))
    ));

    // `check` trusts its last look for a second while checks pass. A key replaced
    // meanwhile with re-signed settings: the check fails under the key it last
    // looked at, looks again and passes. (All at one instant of the check's clock:
    // the second never runs out here, however slow the machine.)
    let at = std::time::Instant::now();
    batch.settings_sig = Some(sign_batch(&signer, &batch));
    key_file.check_at(at, |k| verify_batch(k, &batch)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20)); // a new mtime
    let elsewhere = SettingsKeyFile::new(key_file.path());
    assert_eq!(
        install_settings_key(&other, &elsewhere, true).unwrap(),
        KeyFileWrite::Written
    );
    let signed_by_admin = batch.clone();
    batch.settings_sig = Some(sign_batch(&settings_signer(&other).unwrap(), &batch));
    key_file.check_at(at, |k| verify_batch(k, &batch)).unwrap();
    // The file unchanged since that look: a failing check fails (the old key's
    // signature is refused now).
    assert!(matches!(
        key_file.check_at(at, |k| verify_batch(k, &signed_by_admin)),
        Err(SettingsError::Mismatch(_))
    ));
    // Within the second of a look that passed, a file replaced under it is not
    // looked at: the last look answers. A second later it is.
    key_file.check_at(at, |k| verify_batch(k, &batch)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    install_settings_key(&admin, &elsewhere, true).unwrap();
    key_file.check_at(at, |k| verify_batch(k, &batch)).unwrap();
    let later = at + super::super::key_cache::LOOK_EVERY;
    assert!(matches!(
        key_file.check_at(later, |k| verify_batch(k, &batch)),
        Err(SettingsError::Mismatch(_))
    ));
}
