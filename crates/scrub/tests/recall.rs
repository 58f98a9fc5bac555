//! Recall: synthetic but valid identifiers of every kind, planted in sentences and window
//! titles, must each be found with the right kind and replaced exactly. Invalid look-alikes must
//! not be reported as that kind.
//!
//! `cargo test -p glasshouse-scrub --test recall -- --nocapture` prints the figures.

mod support;

use glasshouse_scrub::{Kind, Scrubber};
use std::collections::BTreeMap;
use support::*;

/// Sentences and titles to plant a sample in (`{}` is the sample).
const TEMPLATES: &[&str] = &[
    "Please use {} for this.",
    "{}",
    "{} is what I have on file",
    "the value was {}",
    "Details (copied from the portal): {}; thanks!",
    "Re: account update – {} – Mozilla Firefox",
    "\"{}\"",
    "ok,{}.",
    "Schöne Grüße, {} 👋",
    "line one\n{}\nline three",
];

fn samples(rng: &mut Rng) -> Vec<Sample> {
    let mut out = Vec::new();

    // Emails.
    let locals = [
        "john.doe",
        "jane+news",
        "a.b-c_d",
        "x",
        "first.last+tag-2",
        "UPPER.Case",
        "user%ops",
        "m123",
    ];
    let domains = [
        "example.com",
        "mail.example.co.uk",
        "sub.dept.example.org",
        "example.io",
        "xn--bcher-kva.example",
        "corp-mail.example.net",
    ];
    for _ in 0..40 {
        let email = format!(
            "{}{}@{}",
            rng.pick(&locals),
            rng.range(0, 99),
            rng.pick(&domains)
        );
        out.push(Sample::whole("email", email, Kind::Email));
    }

    // Phone numbers in many formats.
    for _ in 0..6 {
        let area = rng.range(201, 989);
        let formats = [
            format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
            format!("+1 ({area}) {}-{}", rng.digits(3), rng.digits(4)),
            format!("{area}-{}-{}", rng.digits(3), rng.digits(4)),
            format!("({area}) {}-{}", rng.digits(3), rng.digits(4)),
            format!("{area}.{}.{}", rng.digits(3), rng.digits(4)),
            format!("{area} {} {}", rng.digits(3), rng.digits(4)),
            format!("1-800-{}-{}", rng.digits(3), rng.digits(4)),
            format!("+49 30 {}", rng.digits(7)),
            format!("+49 (0)30 {}", rng.digits(7)),
            format!("07700 {}", rng.digits(6)),
            format!("020 {} {}", rng.digits(4), rng.digits(4)),
            format!(
                "+33 1 {} {} {} {}",
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2)
            ),
            format!(
                "01 {} {} {} {}",
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2)
            ),
            format!("+1{area}{}", rng.digits(7)),
            format!("+44 7700 {}", rng.digits(6)),
            format!("0049 30 {}", rng.digits(7)),
            format!("(030) {}", rng.digits(7)),
            format!("+61 4{} {} {}", rng.digits(2), rng.digits(3), rng.digits(3)),
            format!("+91 98{} {}", rng.digits(3), rng.digits(5)),
            format!("+81 3-{}-{}", rng.digits(4), rng.digits(4)),
            format!("06-{}", rng.digits(8)),
            format!("07700{}", rng.digits(6)),
        ];
        for f in formats {
            out.push(Sample::whole("phone", f, Kind::Phone));
        }
    }

    // Cards: every network, plain, spaced and dashed.
    for &(network, prefixes, len) in NETWORKS {
        for i in 0..6 {
            let digits = card(rng, prefixes, len);
            let text = match i % 3 {
                0 => digits,
                1 => group_card(&digits, ' '),
                _ => group_card(&digits, '-'),
            };
            out.push(Sample::whole(format!("card/{network}"), text, Kind::Card));
        }
    }

    // IBANs: compact and in groups of four, upper and lower case.
    for &(country, layout) in IBAN_FORMATS {
        for i in 0..4 {
            let compact = iban(rng, country, layout);
            let text = match i {
                0 => compact,
                1 => group_iban(&compact),
                2 => compact.to_lowercase(),
                _ => group_iban(&compact),
            };
            out.push(Sample::whole(format!("iban/{country}"), text, Kind::Iban));
        }
    }

    // US SSNs across the valid ranges, and UK NI numbers.
    for i in 0..30 {
        let (a, g, s) = ssn(rng);
        match i % 4 {
            0 | 1 => out.push(Sample::whole(
                "ssn/dashed",
                format!("{a}-{g}-{s}"),
                Kind::NationalId,
            )),
            2 => out.push(Sample::part(
                "ssn/labelled",
                format!("SSN: {a}{g}{s}"),
                format!("{a}{g}{s}"),
                Kind::NationalId,
            )),
            _ => out.push(Sample::part(
                "ssn/labelled",
                format!("social security number {a} {g} {s}"),
                format!("{a} {g} {s}"),
                Kind::NationalId,
            )),
        }
    }
    for (a, g, s) in [
        ("001", "01", "0001"),
        ("899", "99", "9999"),
        ("665", "50", "1234"),
        ("667", "10", "0100"),
    ] {
        out.push(Sample::whole(
            "ssn/edges",
            format!("{a}-{g}-{s}"),
            Kind::NationalId,
        ));
    }
    for i in 0..20 {
        let ni = ni_number(rng);
        let text = if i % 2 == 0 {
            ni
        } else {
            format!(
                "{} {} {} {} {}",
                &ni[..2],
                &ni[2..4],
                &ni[4..6],
                &ni[6..8],
                &ni[8..]
            )
        };
        out.push(Sample::whole("ni", text, Kind::NationalId));
    }

    // IP addresses.
    for _ in 0..20 {
        let ip = format!(
            "{}.{}.{}.{}",
            rng.range(1, 126),
            rng.range(0, 255),
            rng.range(0, 255),
            rng.range(1, 254)
        );
        out.push(Sample::whole("ipv4", ip, Kind::IpAddress));
    }
    for ip in [
        "8.8.8.8",
        "10.0.0.1",
        "192.168.1.254",
        "172.16.254.3",
        "203.0.113.7",
    ] {
        out.push(Sample::whole("ipv4", ip, Kind::IpAddress));
    }
    for _ in 0..10 {
        let full: Vec<String> = (0..8)
            .map(|_| format!("{:x}", rng.range(0x1000, 0xffff)))
            .collect();
        out.push(Sample::whole("ipv6/full", full.join(":"), Kind::IpAddress));
        let g = |rng: &mut Rng| format!("{:x}", rng.range(1, 0xffff));
        let compressed = format!("2001:db8::{}:{}", g(rng), g(rng));
        out.push(Sample::whole(
            "ipv6/compressed",
            compressed,
            Kind::IpAddress,
        ));
        let link = format!("fe80::{}:{}:{}:{}", g(rng), g(rng), g(rng), g(rng));
        out.push(Sample::whole("ipv6/compressed", link, Kind::IpAddress));
    }
    out.push(Sample::whole(
        "ipv6/mapped",
        "::ffff:192.0.2.128",
        Kind::IpAddress,
    ));
    out.push(Sample::whole(
        "ipv6/compressed",
        "2001:db8::1",
        Kind::IpAddress,
    ));

    // Credentials in URLs: only `user:password` is replaced.
    let schemes = [
        "https",
        "http",
        "ftp",
        "postgres",
        "postgresql",
        "mysql",
        "mongodb+srv",
        "amqp",
        "redis",
    ];
    for _ in 0..20 {
        let user = format!(
            "{}{}",
            rng.pick(&["alice", "svc_app", "deploy", "admin", "x"]),
            rng.range(0, 99)
        );
        let pass = format!(
            "{}{}",
            rng.chars(ALNUM, 10),
            rng.pick(&["", "!", "%40home", "$x", "~"])
        );
        let userinfo = format!("{user}:{pass}");
        let host = rng.pick(&[
            "example.com",
            "db.internal:5432",
            "cache.example.net:6379",
            "files.example.org",
        ]);
        let url = format!("{}://{userinfo}@{host}/path?x=1", rng.pick(&schemes));
        out.push(Sample::part(
            "url_credentials",
            url,
            userinfo,
            Kind::UrlCredentials,
        ));
    }
    out.push(Sample::part(
        "url_credentials",
        "redis://:s3cretpw@cache.local:6379/0",
        ":s3cretpw",
        Kind::UrlCredentials,
    ));
    out.push(Sample::part(
        "url_credentials",
        "https://bob:p@ss@example.com/",
        "bob:p@ss",
        Kind::UrlCredentials,
    ));

    // Tokens with known shapes.
    for _ in 0..5 {
        out.push(Sample::whole(
            "secret/aws",
            format!("AKIA{}", rng.chars(UPPER_DIGITS, 16)),
            Kind::Secret,
        ));
        out.push(Sample::whole(
            "secret/aws",
            format!("ASIA{}", rng.chars(UPPER_DIGITS, 16)),
            Kind::Secret,
        ));
        for p in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"] {
            out.push(Sample::whole(
                "secret/github",
                format!("{p}{}", rng.chars(ALNUM, 36)),
                Kind::Secret,
            ));
        }
        let pat = format!(
            "github_pat_{}_{}",
            rng.chars(ALNUM, 22),
            rng.chars(ALNUM, 59)
        );
        out.push(Sample::whole("secret/github", pat, Kind::Secret));
        for p in ["xoxb", "xoxp", "xoxa", "xoxr"] {
            let slack = format!(
                "{p}-{}-{}-{}",
                rng.digits(12),
                rng.digits(13),
                rng.chars(ALNUM, 24)
            );
            out.push(Sample::whole("secret/slack", slack, Kind::Secret));
        }
        for p in ["sk_live_", "rk_live_", "sk_test_"] {
            out.push(Sample::whole(
                "secret/stripe",
                format!("{p}{}", rng.chars(ALNUM, 24)),
                Kind::Secret,
            ));
        }
        out.push(Sample::whole(
            "secret/openai",
            format!("sk-{}", mixed(rng, ALNUM, 48)),
            Kind::Secret,
        ));
        out.push(Sample::whole(
            "secret/openai",
            format!("sk-proj-{}", mixed(rng, ALNUM, 64)),
            Kind::Secret,
        ));
        let google = format!(
            "AIza{}",
            rng.chars(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
                35
            )
        );
        out.push(Sample::whole("secret/google", google, Kind::Secret));
        out.push(Sample::whole(
            "secret/gitlab",
            format!("glpat-{}", rng.chars(ALNUM, 20)),
            Kind::Secret,
        ));
        let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = base64url(
            format!(r#"{{"sub":"{}","iat":{}}}"#, rng.digits(8), rng.digits(10)).as_bytes(),
        );
        let signature = base64url(rng.chars(ALNUM, 32).as_bytes());
        out.push(Sample::whole(
            "secret/jwt",
            format!("{header}.{payload}.{signature}"),
            Kind::Secret,
        ));
        let body: Vec<String> = (0..5).map(|_| rng.chars(BASE64, 64)).collect();
        let kind = rng.pick(&["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""]);
        let pem = format!(
            "-----BEGIN {kind}PRIVATE KEY-----\n{}\n{}==\n-----END {kind}PRIVATE KEY-----",
            body.join("\n"),
            rng.chars(BASE64, 10)
        );
        out.push(Sample::whole("secret/pem", pem, Kind::Secret));
        let bearer = mixed(rng, ALNUM, 32);
        out.push(Sample::part(
            "secret/bearer",
            format!("Authorization: Bearer {bearer}"),
            bearer,
            Kind::Secret,
        ));
    }

    // Values given to secret-sounding names.
    for _ in 0..3 {
        let v = format!("{}{}", rng.chars(LOWER, 6), rng.digits(3));
        let q = format!("{}-{}!", rng.chars(ALNUM, 8), rng.digits(2));
        for (text, value) in [
            (format!("password={v}"), v.clone()),
            (format!("DB_PASSWORD=\"{q}\""), q.clone()),
            (format!("\"api_key\": \"{q}\""), q.clone()),
            (format!("token: {v}"), v.clone()),
            (format!("client_secret = '{q}'"), q.clone()),
            (format!("aws_secret_access_key={q}"), q.clone()),
            (format!("--password {v}"), v.clone()),
            (format!("my password is {v}"), v.clone()),
            (format!("ALTER USER app WITH PASSWORD '{q}'"), q.clone()),
            (format!("passphrase => \"{q}\""), q.clone()),
        ] {
            out.push(Sample::part("secret/assignment", text, value, Kind::Secret));
        }
    }

    // Other high-entropy strings (no known prefix).
    for i in 0..40 {
        let token = match i % 4 {
            0 => mixed(rng, ALNUM, 40),
            1 => mixed(rng, BASE64, 40),
            2 => format!("{}==", mixed(rng, BASE64, 42)),
            // base64url; a leading `-` would read as a command-line flag.
            _ => format!("{}{}", rng.chars(ALNUM, 1), mixed(rng, BASE64URL, 42)),
        };
        out.push(Sample::whole("secret/high_entropy", token, Kind::Secret));
    }
    out
}

#[test]
fn every_planted_identifier_is_found_and_replaced() {
    let scrubber = Scrubber::new();
    let mut rng = Rng::new(0x5c2b_2026);
    let samples = samples(&mut rng);
    let mut per_label: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, sample) in samples.iter().enumerate() {
        let template = TEMPLATES[i % TEMPLATES.len()];
        // Multi-line PEM blocks only go where a line can start.
        let template = if sample.text.contains('\n') {
            "{}"
        } else {
            template
        };
        let sentence = template.replace("{}", &sample.text);
        let offset = template.find("{}").unwrap()
            + sample
                .text
                .find(&sample.secret)
                .expect("secret inside text");
        let expected_range = offset..offset + sample.secret.len();
        let mut expected = sentence.clone();
        expected.replace_range(expected_range.clone(), sample.kind.placeholder());

        let scrubbed = scrubber.scrub(&sentence);
        let found = scrubbed
            .findings
            .iter()
            .any(|f| f.kind == sample.kind && f.range == expected_range);
        let ok = found && scrubbed.text == expected;
        let entry = per_label.entry(sample.label.clone()).or_default();
        entry.0 += usize::from(ok);
        entry.1 += 1;
        let entry = per_kind.entry(sample.kind.name()).or_default();
        entry.0 += usize::from(ok);
        entry.1 += 1;
        if !ok {
            failures.push(format!(
                "{}: {sentence:?}\n    got {:?}\n   want {expected:?}",
                sample.label, scrubbed.text
            ));
        }
    }
    println!("recall by sample family:");
    for (label, (hit, total)) in &per_label {
        println!("  {label:22} {hit:3}/{total:3}");
    }
    println!("recall by kind:");
    let (mut hits, mut total) = (0, 0);
    for (kind, (hit, n)) in &per_kind {
        println!(
            "  {kind:16} {hit:3}/{n:3} = {:.1}%",
            100.0 * *hit as f64 / *n as f64
        );
        hits += hit;
        total += n;
    }
    println!(
        "  {:16} {hits:3}/{total:3} = {:.1}%",
        "all",
        100.0 * hits as f64 / total as f64
    );
    assert!(
        failures.is_empty(),
        "{} missed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Invalid look-alikes are not reported as the kind they imitate.
#[test]
fn invalid_lookalikes_are_not_flagged_as_that_kind() {
    let scrubber = Scrubber::new();
    let mut rng = Rng::new(99);
    let mut cases: Vec<(String, Kind)> = Vec::new();
    for &(_, prefixes, len) in NETWORKS {
        for _ in 0..5 {
            let bad = break_luhn(&card(&mut rng, prefixes, len));
            cases.push((bad.clone(), Kind::Card));
            cases.push((group_card(&bad, ' '), Kind::Card));
        }
    }
    // Luhn-valid but no known issuer prefix.
    cases.push((
        {
            let p = format!("9{}", rng.digits(14));
            format!("{p}{}", luhn_check_digit(&p))
        },
        Kind::Card,
    ));
    for &(country, layout) in IBAN_FORMATS {
        let bad = break_iban(&iban(&mut rng, country, layout));
        cases.push((bad.clone(), Kind::Iban));
        cases.push((group_iban(&bad), Kind::Iban));
    }
    // A valid checksum for an unknown country code, and a wrong length for a known one.
    cases.push(("QQ12 3456 7890 1234 56".into(), Kind::Iban));
    let short_de = {
        let b = "12345678901234567";
        format!("DE{:02}{b}", 98 - mod97(&format!("{b}DE00")))
    };
    cases.push((short_de, Kind::Iban));
    for ssn in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "999-99-9999",
        "123-00-4567",
        "123-45-0000",
        "SSN 000123456",
    ] {
        cases.push((ssn.into(), Kind::NationalId));
    }
    for ni in [
        "GB123456C",
        "BG123456A",
        "DA123456A",
        "QQ123456C",
        "AB123456E",
        "AO123456A",
        "ZZ123456A",
    ] {
        cases.push((ni.into(), Kind::NationalId));
    }
    for ip in [
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "01.02.03.04",
        "v1.2.3.4",
        "version 1.2.3.4",
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.0",
        "::",
        "::1",
        "a::b",
        "10:30:00",
        "00:1A:2B:3C:4D:5E",
    ] {
        cases.push((ip.into(), Kind::IpAddress));
    }
    for url in [
        "https://example.com/a:b@c",
        "https://user@example.com/",
        "mailto:someone",
        "https://example.com:8443/x?y=a:b",
    ] {
        cases.push((url.into(), Kind::UrlCredentials));
    }
    let mut wrong = Vec::new();
    for (text, kind) in &cases {
        let findings = scrubber.find(&format!("value {text} here"));
        if findings.iter().any(|f| f.kind == *kind) {
            wrong.push(format!("{text:?} flagged as {}", kind.name()));
        }
    }
    println!(
        "invalid look-alikes checked: {}, wrongly flagged: {}",
        cases.len(),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Strings that look a little like something but are ordinary: nothing at all is reported.
#[test]
fn ordinary_strings_are_left_alone() {
    let scrubber = Scrubber::new();
    let ordinary = [
        "2026-11-30",
        "2026-11-30T10:30:00Z",
        "10:30",
        "12:41:07",
        "1.2.3",
        "v2.4.1",
        "version 10.0.19041.1",
        "in 2019 and 2020",
        "1999",
        "3.14159",
        "1,000,000",
        "18,240 euros",
        "1 000 000",
        "12.05.2026",
        "PLAT-1934",
        "#482",
        "0x7fff5fbff8c8",
        "0o755",
        "port 8080",
        "room 418",
        "1920x1080",
        "u64::MAX",
        "let x = 1234567;",
        "arr[1::2]",
        "std::collections::HashMap",
        "Foo::bar()",
        "a:b:c",
        "550e8400-e29b-41d4-a716-446655440000",
        "3f2a9c1",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "getUserProfileByIdentifierAndTimestamp",
        "this_is_a_long_snake_case_name_2024",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
        "aarch64-unknown-linux-gnu",
        "x86_64-pc-windows-msvc",
        "MAX_UPLOAD_BATCH_SIZE_BYTES_V2",
        "https://docs.example.com/guide/getting-started?tab=linux#install",
        "https://github.com/example/glasshouse/pull/482/files",
        "git@github.com:example/repo.git",
        "token: Token",
        "let token = lexer.next_token();",
        "password = getpass()",
        "max_tokens: 4096",
        "password: String",
        "secret: Option<String>",
        "api_key = os.environ[\"API_KEY\"]",
        "token=$TOKEN",
        "Authorization: Bearer ${token}",
        "sha512-AbCdEf",
        "user@localhost",
        "alice@workstation:~/src",
        "+1",
        "+44",
        "(555)",
        "call 911",
        "ISBN 978-3-16-148410-0",
        "1-2-3-4-5-6-7-8-9-10",
    ];
    let mut flagged = Vec::new();
    for text in ordinary {
        for f in scrubber.find(text) {
            flagged.push(format!("{text:?}: {} {:?}", f.kind.name(), &text[f.range]));
        }
    }
    println!(
        "ordinary strings checked: {}, flagged: {}",
        ordinary.len(),
        flagged.len()
    );
    assert!(flagged.is_empty(), "{}", flagged.join("\n"));
}
