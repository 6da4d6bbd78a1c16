//! Objects as items of a bundle's `objects` array, written as serde_json writes a whole bundle
//! pretty-printed. One pass over an object of ours gives both its item and the content the ledger
//! hashes (compact JSON without `modified`), so it is serialized once, not once per use, and its
//! `modified`, which the ledger decides from that hash, is put in between as the item is written.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

/// serde_json's pretty printer as it stands on an item of a bundle's `objects` array: two levels in
/// (the bundle object, then its array), so every line of the item is four spaces in.
fn pretty_at_item_depth() -> PrettyFormatter<'static> {
    let mut pretty = PrettyFormatter::new();
    let nowhere = &mut io::sink();
    pretty
        .begin_object(nowhere)
        .and_then(|()| pretty.begin_array(nowhere))
        .expect("a sink never fails");
    pretty
}

/// The indentation of an item's first line, which the array's separator writes before the item.
const ITEM_INDENT: &[u8] = b"    ";

/// What serde_json's pretty printer writes for `object` as an item of a bundle's `objects` array.
pub fn bundle_item(object: &impl Serialize) -> Vec<u8> {
    let mut item = ITEM_INDENT.to_vec();
    let mut serializer = serde_json::Serializer::with_formatter(&mut item, pretty_at_item_depth());
    object
        .serialize(&mut serializer)
        .expect("STIX objects always serialize");
    item
}

/// Serializes objects of ours without their `modified` (see [`ItemWriter::serialize`]); its buffers
/// are reused from one object to the next.
#[derive(Default)]
pub struct ItemWriter {
    item: Vec<u8>,
    content: Vec<u8>,
}

/// An object of ours serialized without its `modified`.
pub struct Serialized<'a> {
    item: &'a [u8],
    /// Where in `item` the `modified` property goes: before the first top-level key after it.
    modified_at: usize,
    /// The compact JSON the ledger hashes.
    pub content: &'a [u8],
}

impl ItemWriter {
    /// `object`, whose `modified` the caller has taken out, as an item and as compact content, in one
    /// pass over it.
    pub fn serialize(&mut self, object: &impl Serialize) -> Serialized<'_> {
        self.item.clear();
        self.item.extend_from_slice(ITEM_INDENT);
        self.content.clear();
        let mut twin = Twin {
            pretty: pretty_at_item_depth(),
            item: &mut self.item,
            content: &mut self.content,
            depth: 0,
            key_start: 0,
            key_text: 0,
            modified_at: None,
        };
        object
            .serialize(&mut serde_json::Serializer::with_formatter(io::sink(), &mut twin))
            .expect("STIX objects always serialize");
        let modified_at = twin.modified_at.unwrap_or(self.item.len());
        Serialized {
            item: &self.item,
            modified_at,
            content: &self.content,
        }
    }
}

impl Serialized<'_> {
    /// Writes the item with `"modified": <modified>` among its properties, where serde_json would
    /// have written it.
    pub fn write_with_modified(&self, modified: &str, out: &mut impl Write) -> io::Result<()> {
        let (before, after) = self.item.split_at(self.modified_at);
        out.write_all(before)?;
        out.write_all(b",\n      \"modified\": ")?;
        serde_json::to_writer(&mut *out, modified)?;
        out.write_all(after)
    }
}

/// A formatter that writes each piece both pretty into the item and compact into the content, and
/// notes where the object's top-level keys start. The serializer's own writer is left unused.
struct Twin<'a> {
    pretty: PrettyFormatter<'static>,
    item: &'a mut Vec<u8>,
    content: &'a mut Vec<u8>,
    /// Of objects and arrays: 1 inside the object itself.
    depth: usize,
    /// Where the current top-level key's separator starts in `item`.
    key_start: usize,
    /// Where the current top-level key's text starts in `item`.
    key_text: usize,
    /// Where the first top-level key after `modified` starts in `item`.
    modified_at: Option<usize>,
}

/// Forwards a formatter call to the pretty printer (into the item) and the compact one (into the
/// content).
macro_rules! both {
    ($twin:ident . $method:ident ( $($argument:expr),* )) => {{
        $twin.pretty.$method(&mut *$twin.item $(, $argument)*)?;
        CompactFormatter.$method(&mut *$twin.content $(, $argument)*)
    }};
}

impl Formatter for &mut Twin<'_> {
    fn write_null<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.write_null())
    }
    fn write_bool<W: ?Sized + Write>(&mut self, _: &mut W, value: bool) -> io::Result<()> {
        both!(self.write_bool(value))
    }
    fn write_i8<W: ?Sized + Write>(&mut self, _: &mut W, value: i8) -> io::Result<()> {
        both!(self.write_i8(value))
    }
    fn write_i16<W: ?Sized + Write>(&mut self, _: &mut W, value: i16) -> io::Result<()> {
        both!(self.write_i16(value))
    }
    fn write_i32<W: ?Sized + Write>(&mut self, _: &mut W, value: i32) -> io::Result<()> {
        both!(self.write_i32(value))
    }
    fn write_i64<W: ?Sized + Write>(&mut self, _: &mut W, value: i64) -> io::Result<()> {
        both!(self.write_i64(value))
    }
    fn write_i128<W: ?Sized + Write>(&mut self, _: &mut W, value: i128) -> io::Result<()> {
        both!(self.write_i128(value))
    }
    fn write_u8<W: ?Sized + Write>(&mut self, _: &mut W, value: u8) -> io::Result<()> {
        both!(self.write_u8(value))
    }
    fn write_u16<W: ?Sized + Write>(&mut self, _: &mut W, value: u16) -> io::Result<()> {
        both!(self.write_u16(value))
    }
    fn write_u32<W: ?Sized + Write>(&mut self, _: &mut W, value: u32) -> io::Result<()> {
        both!(self.write_u32(value))
    }
    fn write_u64<W: ?Sized + Write>(&mut self, _: &mut W, value: u64) -> io::Result<()> {
        both!(self.write_u64(value))
    }
    fn write_u128<W: ?Sized + Write>(&mut self, _: &mut W, value: u128) -> io::Result<()> {
        both!(self.write_u128(value))
    }
    fn write_f32<W: ?Sized + Write>(&mut self, _: &mut W, value: f32) -> io::Result<()> {
        both!(self.write_f32(value))
    }
    fn write_f64<W: ?Sized + Write>(&mut self, _: &mut W, value: f64) -> io::Result<()> {
        both!(self.write_f64(value))
    }
    fn write_number_str<W: ?Sized + Write>(&mut self, _: &mut W, value: &str) -> io::Result<()> {
        both!(self.write_number_str(value))
    }
    fn begin_string<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.begin_string())
    }
    fn end_string<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.end_string())
    }
    fn write_string_fragment<W: ?Sized + Write>(&mut self, _: &mut W, fragment: &str) -> io::Result<()> {
        both!(self.write_string_fragment(fragment))
    }
    fn write_char_escape<W: ?Sized + Write>(&mut self, _: &mut W, char_escape: CharEscape) -> io::Result<()> {
        // CharEscape is neither Clone nor Copy.
        let copy = |escape: &CharEscape| match escape {
            CharEscape::AsciiControl(byte) => CharEscape::AsciiControl(*byte),
            CharEscape::Quote => CharEscape::Quote,
            CharEscape::ReverseSolidus => CharEscape::ReverseSolidus,
            CharEscape::Solidus => CharEscape::Solidus,
            CharEscape::Backspace => CharEscape::Backspace,
            CharEscape::FormFeed => CharEscape::FormFeed,
            CharEscape::LineFeed => CharEscape::LineFeed,
            CharEscape::CarriageReturn => CharEscape::CarriageReturn,
            CharEscape::Tab => CharEscape::Tab,
        };
        let again = copy(&char_escape);
        self.pretty.write_char_escape(&mut *self.item, char_escape)?;
        CompactFormatter.write_char_escape(&mut *self.content, again)
    }
    fn write_byte_array<W: ?Sized + Write>(&mut self, _: &mut W, value: &[u8]) -> io::Result<()> {
        both!(self.write_byte_array(value))
    }
    fn begin_array<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.depth += 1;
        both!(self.begin_array())
    }
    fn end_array<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.depth -= 1;
        both!(self.end_array())
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, _: &mut W, first: bool) -> io::Result<()> {
        both!(self.begin_array_value(first))
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.end_array_value())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.depth += 1;
        both!(self.begin_object())
    }
    fn end_object<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.depth == 0 && self.modified_at.is_none() {
            self.modified_at = Some(self.item.len());
        }
        both!(self.end_object())
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, _: &mut W, first: bool) -> io::Result<()> {
        let key_start = self.item.len();
        both!(self.begin_object_key(first))?;
        if self.depth == 1 {
            self.key_start = key_start;
            self.key_text = self.item.len();
        }
        Ok(())
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        if self.depth == 1 && self.modified_at.is_none() {
            // Keys of ours are plain words: quoted, they compare as the words do.
            if &self.item[self.key_text..] > b"\"modified\"".as_slice() {
                self.modified_at = Some(self.key_start);
            }
        }
        both!(self.end_object_key())
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.begin_object_value())
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        both!(self.end_object_value())
    }
    fn write_raw_fragment<W: ?Sized + Write>(&mut self, _: &mut W, fragment: &str) -> io::Result<()> {
        both!(self.write_raw_fragment(fragment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `object` pretty-printed as one item of a bundle by serde_json itself.
    fn item_by_serde_json(object: &serde_json::Value) -> String {
        let bundle = serde_json::to_string_pretty(&json!({"objects": [object]})).unwrap();
        let item = bundle.strip_prefix("{\n  \"objects\": [\n").unwrap();
        item.strip_suffix("\n  ]\n}").unwrap().to_string()
    }

    #[test]
    fn one_pass_writes_the_item_serde_json_writes_and_the_compact_content() {
        let objects = [
            json!({"created": "x", "id": "a--1", "n": [1, -2, 2.5, true, null, [], {}],
                "name": "tab\there \"q\" \\ \u{1}", "nested": {"modified": "not this one", "z": [{"a": 1}]},
                "type": "t"}),
            json!({"a": "only keys before it", "b": {"c": []}}),
        ];
        let mut items = ItemWriter::default();
        for object in objects {
            assert_eq!(
                String::from_utf8(bundle_item(&object)).unwrap(),
                item_by_serde_json(&object)
            );
            let serialized = items.serialize(&object);
            assert_eq!(serialized.content, object.to_string().as_bytes());
            let mut item = Vec::new();
            serialized
                .write_with_modified("2026-12-04T00:00:00.000Z", &mut item)
                .unwrap();
            let mut with_modified = object.clone();
            with_modified["modified"] = json!("2026-12-04T00:00:00.000Z");
            assert_eq!(String::from_utf8(item).unwrap(), item_by_serde_json(&with_modified));
        }
    }
}
