//! Replays section 10 of `docs/protocol.md` ("A session, message by
//! message") against the real server: the messages the page has Ana and
//! Kid send are sent as written, and the messages the page has them receive
//! must arrive, in that order, exactly as written but for ids, heads and
//! times. So the page's main flow cannot drift from the server.

use std::path::Path;

use cartroom_client::{Connection, Event};
use cartroom_e2e::TestServer;
use cartroom_protocol::MemberRole;
use serde_json::Value;

/// The ids the page uses, and whose real values the replay puts in.
const DOC_CART: &str = "5f0c6f0e-0b7a-4e59-9a4e-2d8d6c1f7a10";
const DOC_ANA: &str = "8c1e0f6a-3b2d-4c5e-9f70-1a2b3c4d5e6f";
const DOC_KID: &str = "2b7d9e10-4f3a-4b6c-8d2e-0f1a2b3c4d5e";

/// One tagged block of the section: who, which way, what.
struct Block {
    line: usize,
    sends: bool,
    who: String,
    values: Vec<Value>,
}

fn section_10_blocks() -> Vec<Block> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
    let start = doc
        .find("## 10. A session, message by message")
        .expect("section 10");
    let section = &doc[start..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 3]);
    let mut blocks = Vec::new();
    let mut lines = section.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some(tag) = line.trim().strip_prefix("```json ") else {
            continue;
        };
        let mut words = tag.split_whitespace();
        let sends = match words.next() {
            Some("ClientMsg") => true,
            Some("ServerMsg") => false,
            other => panic!("line {i}: a block of {other:?} in section 10"),
        };
        let who = words.next().expect("whose block").to_owned();
        let mut text = String::new();
        for (_, line) in lines.by_ref() {
            if line.trim_start().starts_with("```") {
                break;
            }
            text.push_str(line);
            text.push('\n');
        }
        let values = serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .expect("JSON values");
        blocks.push(Block {
            line: i,
            sends,
            who,
            values,
        });
    }
    blocks
}

/// Puts the real ids where the page has its own.
fn substitute(value: &mut Value, ids: &[(String, String)]) {
    match value {
        Value::String(s) => {
            for (doc, real) in ids {
                *s = s.replace(doc.as_str(), real);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(fields) => fields.values_mut().for_each(|v| substitute(v, ids)),
        _ => {}
    }
}

/// Heads and times differ from run to run: keep their shape only.
fn normalize(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match key.as_str() {
                    "heads" => {
                        let count = field.as_array().map_or(0, Vec::len);
                        *field = Value::from(format!("{count} heads"));
                    }
                    "at" => *field = Value::from("a time"),
                    _ => normalize(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// The next JSON message on `conn`, skipping binary frames.
async fn next_message(conn: &mut Connection) -> anyhow::Result<Value> {
    loop {
        match conn.next_event().await? {
            Event::Msg(msg) => return Ok(serde_json::to_value(msg)?),
            Event::Changes { .. } => {}
            Event::Closed { code, reason } => anyhow::bail!("closed: {code:?} {reason}"),
        }
    }
}

#[tokio::test]
async fn section_10_of_the_protocol_page_is_what_the_server_does() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let kid = server.account("Kid").await?;
    let cart = ana.create_cart("Weekend BBQ").await?;
    ana.add_member(cart, kid.email.as_deref().unwrap(), MemberRole::Viewer)
        .await?;
    let ids = [
        (DOC_CART.to_owned(), cart.to_string()),
        (DOC_ANA.to_owned(), ana.user_id.to_string()),
        (DOC_KID.to_owned(), kid.user_id.to_string()),
        (DOC_KID.replace('-', ""), kid.user_id.0.simple().to_string()),
    ];
    let mut a = ana.connect().await?;
    let mut k = kid.connect().await?;
    let blocks = section_10_blocks();
    assert!(blocks.len() >= 10, "section 10 has {} blocks", blocks.len());
    for block in blocks {
        let conn = match block.who.as_str() {
            "ana" => &mut a,
            "kid" => &mut k,
            other => panic!("line {}: who is {other}?", block.line),
        };
        for mut value in block.values {
            substitute(&mut value, &ids);
            if block.sends {
                conn.send_text(value.to_string()).await?;
                continue;
            }
            let mut got = next_message(conn).await?;
            normalize(&mut got);
            normalize(&mut value);
            assert_eq!(
                got, value,
                "docs/protocol.md line {}: {} received something else",
                block.line, block.who
            );
        }
    }
    Ok(())
}
