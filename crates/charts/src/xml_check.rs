//! A small XML well-formedness check for the tests: one root element, balanced and properly
//! nested tags, quoted attributes without duplicates, known entities only, and no character XML
//! forbids. Enough for what plotters and this crate emit (no CDATA, no DOCTYPE, no comments).

/// Returns the element names in document order, or what is wrong.
pub(crate) fn check(xml: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut roots = 0;
    let mut rest = xml;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            text(rest)?;
            if !rest.trim().is_empty() {
                return Err("text after the root element".into());
            }
            break;
        };
        let before = &rest[..lt];
        text(before)?;
        if stack.is_empty() && !before.trim().is_empty() {
            return Err(format!("text outside the root: {before:?}"));
        }
        let after = &rest[lt + 1..];
        let gt = after.find('>').ok_or("unterminated tag")?;
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or_else(|| format!("stray </{name}>"))?;
            if open != name.trim() {
                return Err(format!("<{open}> closed by </{name}>"));
            }
            continue;
        }
        let (body, self_closing) = match tag.strip_suffix('/') {
            Some(b) => (b, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c))
        {
            return Err(format!("bad element name {name:?}"));
        }
        attributes(&body[name_end..])?;
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err("more than one root element".into());
            }
        }
        seen.push(name.to_owned());
        if !self_closing {
            stack.push(name.to_owned());
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> never closed"));
    }
    if roots == 0 {
        return Err("no root element".into());
    }
    Ok(seen)
}

fn attributes(mut s: &str) -> Result<(), String> {
    let mut names = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(());
        }
        let eq = s
            .find('=')
            .ok_or_else(|| format!("attribute without value: {s:?}"))?;
        let name = s[..eq].trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c))
        {
            return Err(format!("bad attribute name {name:?}"));
        }
        if names.contains(&name) {
            return Err(format!("duplicate attribute {name}"));
        }
        names.push(name);
        let value = s[eq + 1..].trim_start();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'');
        let quote = quote.ok_or_else(|| format!("unquoted attribute {name}"))?;
        let end = value[1..]
            .find(quote)
            .ok_or("unterminated attribute value")?;
        let v = &value[1..1 + end];
        if v.contains('<') {
            return Err(format!("'<' in attribute {name}"));
        }
        text(v)?;
        s = &value[end + 2..];
    }
}

/// Character data: every `&` starts a known entity or a character reference, and no character is
/// one XML 1.0 forbids.
fn text(s: &str) -> Result<(), String> {
    if let Some(c) = s.chars().find(|c| {
        let c = u32::from(*c);
        (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) || c == 0xFFFE || c == 0xFFFF
    }) {
        return Err(format!("forbidden character U+{:04X}", u32::from(c)));
    }
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp + 1..];
        let semi = after.find(';').ok_or("'&' without ';'")?;
        let entity = &after[..semi];
        let ok = matches!(entity, "lt" | "gt" | "amp" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &after[semi + 1..];
    }
    Ok(())
}

#[test]
fn the_checker_rejects_what_it_should() {
    assert!(check("<svg a=\"1\"><g/><text>a &amp; b</text></svg>").is_ok());
    for bad in [
        "<svg><text>a < b</text></svg>",
        "<svg><text>a & b</text></svg>",
        "<svg><g></svg>",
        "<svg></svg><svg></svg>",
        "<svg a=1></svg>",
        "<svg a=\"1\" a=\"2\"></svg>",
        "<svg><text>\u{1}</text></svg>",
        "<svg><text>x</g></svg>",
        "text<svg></svg>",
    ] {
        assert!(check(bad).is_err(), "{bad}");
    }
}
