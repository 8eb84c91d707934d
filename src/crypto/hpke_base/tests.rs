//! The seal and open against RFC 9180's own vector and against the `hpke` crate (which
//! sealed every record before them), and X25519 against curve25519-dalek's Montgomery
//! ladder (what `x25519-dalek`, and so `hpke`, computes) on points of every kind.

use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};

use curve25519_dalek::edwards::EdwardsBasepointTable;

use super::*;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// X25519(`scalar`, the table's point), for a point on the curve.
fn x25519_with(
    table: &EdwardsBasepointTable,
    scalar: &[u8; KEY_BYTES],
) -> Option<Zeroizing<[u8; KEY_BYTES]>> {
    nonzero(Zeroizing::new(
        table.mul_base_clamped(*scalar).to_montgomery().to_bytes(),
    ))
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// RFC 9180, Appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305,
/// Base mode), its first encryption (sequence number 0).
#[test]
fn the_rfc_9180_vector_seals_and_opens_byte_for_byte() {
    let ephemeral: [u8; 32] =
        unhex("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600");
    let recipient = PrivateKey::from_bytes(&unhex::<32>(
        "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
    ))
    .unwrap();
    let pk_em: [u8; 32] = unhex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
    let pk_rm: [u8; 32] = unhex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
    assert_eq!(PrivateKey::from_bytes(&ephemeral).unwrap().public(), &pk_em);
    assert_eq!(recipient.public(), &pk_rm);
    let info = b"Ode on a Grecian Urn";
    let aad = b"Count-0";
    let plaintext = b"Beauty is truth, truth beauty";
    let expected = hex::decode(
        "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
    )
    .unwrap();

    let dh = x25519(&ephemeral, &pk_rm).unwrap();
    assert_eq!(
        *shared_secret(&dh, &pk_em, &pk_rm).unwrap(),
        unhex::<32>("0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7"),
        "the KEM's shared secret"
    );
    // Without and with a table of the recipient's multiples.
    let point = MontgomeryPoint(pk_rm).to_edwards(0).unwrap();
    let table = EdwardsBasepointTable::create(&point);
    for table in [None, Some(&table)] {
        let (enc, sealed) = seal_with(&ephemeral, &pk_rm, table, info, plaintext, aad).unwrap();
        assert_eq!(enc, pk_em);
        assert_eq!(sealed, expected);
    }
    let (enc, sealed) = (pk_em, expected);
    let opened = open(&recipient, info, &enc, &sealed, aad).unwrap();
    assert_eq!(opened.as_slice(), plaintext);
}

/// The `hpke` crate's key from the same bytes: clamped alike, the same public key.
fn hpke_key(raw: &[u8; 32]) -> (PrivateKey, <Kem as hpke::Kem>::PrivateKey) {
    let ours = PrivateKey::from_bytes(raw).unwrap();
    let theirs = <Kem as hpke::Kem>::PrivateKey::from_bytes(raw).unwrap();
    assert_eq!(ours.as_bytes().as_slice(), theirs.to_bytes().as_slice());
    assert_eq!(
        ours.public().as_slice(),
        Kem::sk_to_pk(&theirs).to_bytes().as_slice()
    );
    (ours, theirs)
}

/// Random keys (from unclamped bytes), record sizes, `info` and AAD: whatever this
/// module seals, by each of its paths (the recipient's table or not, and `seal` itself,
/// which starts the table on its second seal to a key), `hpke` opens; whatever `hpke`
/// seals, this module opens; a random seal is never the same twice.
#[test]
fn every_record_opens_both_ways_with_the_hpke_crate() {
    for round in 0..48usize {
        let mut raw = [0u8; 32];
        fill_random(&mut raw).unwrap();
        raw[0] |= 7; // bits clamping clears
        raw[31] |= 0x80; // and the top bit it clears
        let (ours, theirs) = hpke_key(&raw);
        let public = <Kem as hpke::Kem>::PublicKey::from_bytes(ours.public()).unwrap();
        let plaintext: Vec<u8> = (0..round * 37).map(|i| (i * 7 + round) as u8).collect();
        let info = format!("passdrop/test/{round}");
        let aad = vec![round as u8; round % 5 * 50];
        let point = MontgomeryPoint(*ours.public()).to_edwards(0).unwrap();
        let table = EdwardsBasepointTable::create(&point);

        let mut records = Vec::new();
        for table in [None, Some(&table)] {
            let mut ephemeral = [0u8; 32];
            fill_random(&mut ephemeral).unwrap();
            records.push(
                seal_with(
                    &ephemeral,
                    ours.public(),
                    table,
                    info.as_bytes(),
                    &plaintext,
                    &aad,
                )
                .unwrap(),
            );
        }
        for _ in 0..3 {
            records.push(seal(ours.public(), info.as_bytes(), &plaintext, &aad).unwrap());
        }
        for (n, (enc, sealed)) in records.iter().enumerate() {
            assert!(
                records[..n].iter().all(|(other, _)| other != enc),
                "a fresh ephemeral key per seal"
            );
            let enc_theirs = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).unwrap();
            let opened = hpke::single_shot_open::<Aead, Kdf, Kem>(
                &OpModeR::Base,
                &theirs,
                &enc_theirs,
                info.as_bytes(),
                sealed,
                &aad,
            )
            .unwrap();
            assert_eq!(opened, plaintext, "round {round}, record {n}");
        }

        let (enc, sealed) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &public,
            info.as_bytes(),
            &plaintext,
            &aad,
        )
        .unwrap();
        let opened = open(&ours, info.as_bytes(), &enc.to_bytes(), &sealed, &aad).unwrap();
        assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}

/// A record opens only with its own key, `info`, `aad`, encapsulated key and bytes.
#[test]
fn any_change_fails_to_open() {
    let key = PrivateKey::generate().unwrap();
    let (enc, sealed) = seal(key.public(), b"info", b"a secret", b"aad").unwrap();
    assert!(open(&key, b"info", &enc, &sealed, b"aad").is_ok());
    let other = PrivateKey::generate().unwrap();
    let fails = |private: &PrivateKey, info: &[u8], enc: &[u8], sealed: &[u8], aad: &[u8]| {
        matches!(
            open(private, info, enc, sealed, aad),
            Err(CryptoError::OpenFailed)
        )
    };
    assert!(fails(&other, b"info", &enc, &sealed, b"aad"));
    assert!(fails(&key, b"inf0", &enc, &sealed, b"aad"));
    assert!(fails(&key, b"info", &enc, &sealed, b"aa"));
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 1;
        assert!(fails(&key, b"info", &enc, &bad, b"aad"), "byte {i} flipped");
    }
    let mut bad_enc = enc;
    bad_enc[3] ^= 1;
    assert!(fails(&key, b"info", &bad_enc, &sealed, b"aad"));
    assert!(fails(&key, b"info", &enc[..31], &sealed, b"aad"));
    assert!(fails(&key, b"info", &enc, &sealed[..15], b"aad"));
    assert!(fails(&key, b"info", &enc, &[], b"aad"));
    // A key of the wrong length is malformed, not opened.
    assert!(matches!(
        PrivateKey::from_bytes(&[1; 31]),
        Err(CryptoError::Malformed)
    ));
    assert!(matches!(public_key(&[1; 33]), Err(CryptoError::Malformed)));
}

/// The u-coordinates of low order (the usual list, as libsodium's, on the curve and on
/// its twist) give an all-zero X25519 result: neither side goes on (RFC 9180 §7.1.4), by
/// any path, where `hpke` refuses the same.
#[test]
fn a_low_order_point_is_refused_on_both_sides() {
    let low_order: [[u8; 32]; 7] = [
        unhex("0000000000000000000000000000000000000000000000000000000000000000"),
        unhex("0100000000000000000000000000000000000000000000000000000000000000"),
        unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        unhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        unhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        unhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        unhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];
    let key = PrivateKey::generate().unwrap();
    for u in low_order {
        let mut top = u;
        top[31] |= 0x80; // the same point to X25519
        for u in [u, top] {
            assert!(x25519(key.as_bytes(), &u).is_none());
            let table = MontgomeryPoint(u)
                .to_edwards(0)
                .map(|point| EdwardsBasepointTable::create(&point));
            assert!(ephemeral_dh(key.as_bytes(), &u, None).1.is_none());
            assert!(ephemeral_dh(key.as_bytes(), &u, table.as_ref()).1.is_none());
            for _ in 0..3 {
                assert!(matches!(
                    seal(&u, b"info", b"secret", b""),
                    Err(CryptoError::SealFailed)
                ));
            }
            assert!(matches!(
                open(&key, b"info", &u, &[0; 40], b""),
                Err(CryptoError::OpenFailed)
            ));
            let public = <Kem as hpke::Kem>::PublicKey::from_bytes(&u).unwrap();
            assert!(
                hpke::single_shot_seal::<Aead, Kdf, Kem>(
                    &OpModeS::Base,
                    &public,
                    b"info",
                    b"s",
                    b""
                )
                .is_err()
            );
        }
    }
}

/// The Edwards path and the ladder agree on every kind of `u`: random ones (about half
/// on the twist, which take the ladder), non-canonical ones (at least p), with the top
/// bit set (which X25519 ignores), p - 1 (u = -1), and real public keys.
#[test]
fn x25519_agrees_with_the_montgomery_ladder_on_every_kind_of_point() {
    let ladder = |scalar: &[u8; 32], u: &[u8; 32]| MontgomeryPoint(*u).mul_clamped(*scalar);
    let mut points: Vec<[u8; 32]> = Vec::new();
    let mut on_curve = 0;
    for _ in 0..400 {
        let mut u = [0u8; 32];
        fill_random(&mut u).unwrap();
        if MontgomeryPoint(u).to_edwards(0).is_some() {
            on_curve += 1;
        }
        points.push(u);
    }
    assert!(
        (100..300).contains(&on_curve),
        "both paths taken: {on_curve} of 400"
    );
    for _ in 0..50 {
        points.push(*PrivateKey::generate().unwrap().public());
    }
    // p - 1 = -1, p, p + 1 (= 1), p + 9 (= 9, the base point), 2^255 - 1, and the base
    // point with its top bit set.
    // p = 2^255 - 19 is ed ff .. ff 7f, little-endian.
    let p_plus = |k: i8| {
        let mut u = [0xffu8; 32];
        u[0] = 0xed_u8.wrapping_add_signed(k);
        u[31] = 0x7f;
        u
    };
    points.extend([p_plus(-1), p_plus(0), p_plus(1), p_plus(9), [0xff; 32]]);
    points.push({
        let mut u = [0; 32];
        u[0] = 9;
        u[31] = 0x80;
        u
    });
    for u in &points {
        // The seal's own multiplications, with the point's table when it is on the curve.
        let table = MontgomeryPoint(*u)
            .to_edwards(0)
            .map(|point| EdwardsBasepointTable::create(&point));
        for _ in 0..3 {
            let scalar = PrivateKey::generate().unwrap();
            let expected = ladder(scalar.as_bytes(), u).to_bytes();
            let expected = (expected != [0; 32]).then_some(expected);
            let got = x25519(scalar.as_bytes(), u).map(|dh| *dh);
            assert_eq!(got, expected, "open's, u = {}", hex::encode(u));
            for table in [None, table.as_ref()] {
                let (enc, dh) = ephemeral_dh(scalar.as_bytes(), u, table);
                assert_eq!(&enc, scalar.public());
                assert_eq!(dh.map(|dh| *dh), expected, "seal's, u = {}", hex::encode(u));
                if let Some(table) = table {
                    let dh = x25519_with(table, scalar.as_bytes()).map(|dh| *dh);
                    assert_eq!(dh, expected);
                }
            }
        }
    }
}

/// Waits (at most 30 s) for `key`'s table to be made.
fn table_made(recipients: &'static Recipients, key: &[u8; 32]) -> Arc<EdwardsBasepointTable> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(table) = recipients.table(key) {
            return table;
        }
        assert!(std::time::Instant::now() < deadline, "no table in 30 s");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A key's first seal has no table and its second starts one, made on a thread of its
/// own; later seals share it; a key off the curve never has one; only the most recent
/// keys are kept.
#[test]
fn a_key_sealed_to_again_gets_a_table_of_its_own() {
    let recipients: &'static Recipients = Box::leak(Box::new(Recipients::new()));
    let keys: Vec<[u8; 32]> = (0..=RECIPIENTS_KEPT)
        .map(|_| *PrivateKey::generate().unwrap().public())
        .collect();
    assert!(recipients.table(&keys[0]).is_none(), "the first seal");
    let first = table_made(recipients, &keys[0]);
    let again = recipients.table(&keys[0]).unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    let scalar = PrivateKey::generate().unwrap();
    assert_eq!(
        *x25519_with(&first, scalar.as_bytes()).unwrap(),
        *x25519(scalar.as_bytes(), &keys[0]).unwrap()
    );
    // Off the curve (on the twist): no table, ever.
    let twist = (0u8..)
        .map(|i| {
            let mut u = [i; 32];
            u[31] &= 0x7f;
            u
        })
        .find(|u| MontgomeryPoint(*u).to_edwards(0).is_none())
        .unwrap();
    for _ in 0..20 {
        assert!(recipients.table(&twist).is_none());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Eight other keys push the first one out: it starts again with no table.
    for key in &keys[1..] {
        assert!(recipients.table(key).is_none());
    }
    assert_eq!(recipients.0.lock().unwrap().len(), RECIPIENTS_KEPT);
    assert!(recipients.table(&keys[0]).is_none());
}
