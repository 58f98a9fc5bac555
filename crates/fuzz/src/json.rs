//! Structure-aware JSON: random values, and mutations of a real document node by node (a field
//! removed, added or given a value of another type, a number pushed to an edge, an array
//! repeated, a value buried deep). The result still parses as JSON, so it gets past the JSON
//! parser to the code that checks what the fields say.

use serde_json::{Map, Number, Value};

use crate::Rng;

/// Edge integers as JSON numbers.
fn edge_number(rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(1),
        3 => Value::from(i64::MAX),
        4 => Value::from(i64::MIN),
        5 => Value::from(u64::MAX),
        6 => Value::from(u32::MAX),
        7 => Value::from(u64::from(u32::MAX) + 1),
        8 => Value::from(i64::from(i32::MIN)),
        9 => Value::from(1_u64 << 53),
        10 => Number::from_f64(1.5).map_or(Value::Null, Value::Number),
        11 => Number::from_f64(-1e300).map_or(Value::Null, Value::Number),
        12 => Value::from(86_400_000_000_i64),
        13 => Value::from(1_772_442_000_000_000_i64),
        14 => Value::from(rng.next_u64() as i64),
        _ => Value::from(rng.below(1000) as i64 - 500),
    }
}

/// A string that tends to break things: empty, long, control characters, non-ASCII, a lone
/// combining mark, a word from `dict`.
fn edge_string(rng: &mut Rng, dict: &[&str]) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 => "a".repeat(rng.len(100_000)),
        2 => "\u{0}\u{1}\n\r\t\"\\".to_owned(),
        3 => "é漢字🙂\u{301}\u{202e}".to_owned(),
        4 => " ".repeat(rng.len(300)),
        5 => format!("{:x}", rng.next_u64()).repeat(1 + rng.below(8)),
        _ if !dict.is_empty() => (*rng.pick(dict)).to_owned(),
        _ => "x".to_owned(),
    }
}

/// A random JSON value at most `depth` levels deep, with keys and strings from `dict`.
pub fn random_value(rng: &mut Rng, depth: usize, dict: &[&str]) -> Value {
    let kinds = if depth == 0 { 4 } else { 6 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => edge_number(rng),
        3 => Value::String(edge_string(rng, dict)),
        4 => Value::Array(
            (0..rng.len(8))
                .map(|_| random_value(rng, depth - 1, dict))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.len(6) {
                let k = edge_string(rng, dict);
                m.insert(k, random_value(rng, depth - 1, dict));
            }
            Value::Object(m)
        }
    }
}

/// Counts the nodes of `v` (itself included).
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node of `v` in pre-order.
fn nth<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth(c, n)),
        Value::Object(m) => m.values_mut().find_map(|c| nth(c, n)),
        _ => None,
    }
}

/// Applies one to four node-level mutations to `doc`.
pub fn mutate_value(rng: &mut Rng, doc: &mut Value, dict: &[&str]) {
    for _ in 0..1 + rng.below(4) {
        let total = count(doc);
        let mut n = rng.below(total);
        if let Some(node) = nth(doc, &mut n) {
            mutate_node(rng, node, dict);
        }
    }
}

fn mutate_node(rng: &mut Rng, node: &mut Value, dict: &[&str]) {
    match rng.below(10) {
        // Another value altogether.
        0 | 1 => *node = random_value(rng, 2, dict),
        // An edge number or string of the same kind.
        2 | 3 => match node {
            Value::Number(_) => *node = edge_number(rng),
            Value::String(s) => *s = edge_string(rng, dict),
            Value::Bool(b) => *b = !*b,
            _ => *node = Value::Null,
        },
        // Remove or add a field / an element.
        4 => match node {
            Value::Object(m) if !m.is_empty() => {
                let k = m
                    .keys()
                    .nth(rng.below(m.len()))
                    .cloned()
                    .unwrap_or_default();
                m.remove(&k);
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                a.remove(i);
            }
            _ => {}
        },
        5 => match node {
            Value::Object(m) => {
                let k = edge_string(rng, dict);
                m.insert(k, random_value(rng, 1, dict));
            }
            Value::Array(a) => {
                let v = a
                    .get(rng.below(a.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| random_value(rng, 1, dict));
                let i = rng.below(a.len() + 1);
                a.insert(i, v);
            }
            _ => {}
        },
        // Repeat an array's elements many times.
        6 => {
            if let Value::Array(a) = node
                && !a.is_empty()
            {
                let times = 1 + rng.below(64);
                let copy = a.clone();
                for _ in 0..times {
                    a.extend(copy.iter().cloned());
                }
            }
        }
        // Bury the value deep.
        7 => {
            let depth = rng.len(200);
            let mut v = std::mem::take(node);
            for _ in 0..depth {
                v = if rng.one_in(2) {
                    Value::Array(vec![v])
                } else {
                    let mut m = Map::new();
                    m.insert("a".into(), v);
                    Value::Object(m)
                };
            }
            *node = v;
        }
        // A number off by one, or a string cut or grown by one character.
        8 => match node {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    *node = Value::from(i.wrapping_add(if rng.one_in(2) { 1 } else { -1 }));
                } else if let Some(u) = n.as_u64() {
                    *node = Value::from(u.wrapping_add(1));
                }
            }
            Value::String(s) => {
                if rng.one_in(2) {
                    s.pop();
                } else {
                    s.push(char::from(b'a' + rng.below(26) as u8));
                }
            }
            _ => {}
        },
        // Swap two elements of an array (events out of order, say).
        _ => {
            if let Value::Array(a) = node
                && a.len() > 1
            {
                let (i, j) = (rng.below(a.len()), rng.below(a.len()));
                a.swap(i, j);
            }
        }
    }
}
