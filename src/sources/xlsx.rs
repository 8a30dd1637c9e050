//! The cells of an xlsx sheet read straight from its XML, for the layout the publishers' workbooks
//! use (DREES's APL, ANCT's BPE, INSEE's bassins de vie): `<c r="B7" t="s"><v>12</v></c>`, inline
//! strings, rich-text shared strings, numbers, booleans, cached formula values.
//!
//! calamine reads any workbook through an XML event parser: 3.4 G instructions for the 33 MB of
//! sheet XML that `build` reads, a third of its CPU. This scans the same bytes for the few elements
//! a sheet's cells are made of (about half the instructions, zlib's inflating included), a chunk
//! at a time, and gives the cells calamine gives: their position, and the text `table::cell_text`
//! makes of calamine's value. Whatever it does not know (a namespace prefix, an error or date cell,
//! Excel's `_xHHHH_` escapes, a comment, a cell without its reference, a member whose CRC-32 fails)
//! makes it step aside with `None`, and the caller reads the workbook with calamine, which also
//! reports the faults of a damaged file. Tests compare both readers on made-up workbooks and on
//! the published ones.

use std::io::{Read, Seek};

use memchr::{memchr, memmem};

/// A cell with a value: 0-based row and column, and where its text is in [`Cells::text`].
pub type Cell = (u32, u32, u32, u32);

/// The cells of a sheet that hold a value, their texts side by side in one buffer: a `String`
/// per cell was 420 000 allocations for the APL workbook.
#[derive(Debug, Default)]
pub struct Cells {
    pub cells: Vec<Cell>,
    pub text: String,
}

impl Cells {
    /// The text of `cell`.
    pub fn text_of(&self, cell: &Cell) -> &str {
        &self.text[cell.2 as usize..cell.3 as usize]
    }

    /// A cell at (`row`, `col`) holding `text`.
    pub fn push(&mut self, row: u32, col: u32, text: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.cells.push((row, col, start, u32::try_from(self.text.len()).expect("a sheet's text under 4 GiB")));
    }

    /// A cell at (`row`, `col`) whose text `write` adds to the buffer: kept when it answers
    /// `Some(true)`, left out for `Some(false)` (no value), and `None` passed on (unknown).
    fn push_with(&mut self, row: u32, col: u32, write: impl FnOnce(&mut String) -> Option<bool>) -> Option<()> {
        let start = self.text.len();
        if write(&mut self.text)? {
            let end = u32::try_from(self.text.len()).ok()?;
            self.cells.push((row, col, start as u32, end));
        } else {
            self.text.truncate(start);
        }
        Some(())
    }
}

/// A workbook whose parts are in the places Excel, LibreOffice and the usual writers put them.
pub struct Book<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    /// The shared strings; `None` for one this reader leaves to calamine, which only a cell that
    /// uses it sends there.
    strings: Vec<Option<String>>,
    /// Each sheet's name and member, in the workbook's order.
    sheets: Vec<(String, String)>,
}

impl<R: Read + Seek> Book<R> {
    /// The workbook read from `reader`, or `None` when its layout is not one this reader knows.
    pub fn open(reader: R) -> Option<Self> {
        let mut zip = zip::ZipArchive::new(reader).ok()?;
        let rels = member(&mut zip, "xl/_rels/workbook.xml.rels")?;
        let workbook = member(&mut zip, "xl/workbook.xml")?;
        let sheets = sheets(&workbook, &rels)?;
        // calamine reads the shared strings at this fixed place, and none when it is absent.
        let strings = if zip.index_for_name("xl/sharedStrings.xml").is_some() {
            shared_strings(&member(&mut zip, "xl/sharedStrings.xml")?)?
        } else {
            Vec::new()
        };
        Some(Book { zip, strings, sheets })
    }

    /// The cells holding a value of the sheet `name`, in the sheet's order; `None` when the sheet
    /// is missing or holds something this reader does not know.
    pub fn cells(&mut self, name: &str) -> Option<Cells> {
        let path = self.sheets.iter().find(|(n, _)| n == name)?.1.clone();
        let member = self.zip.by_name(&path).ok()?;
        // Room for every cell the sheet's text can hold, reserved once: grown by doubling, the
        // cells of the APL workbook were copied four times over, into fresh pages each time. Only
        // the part used is ever touched.
        let room = (member.size() / MIN_CELL_BYTES).min(MAX_CELLS_RESERVED) as usize;
        sheet_cells(member, &self.strings, room)
    }
}

/// A member's bytes. zip inflates them and checks their CRC-32 once the last is read.
fn member<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    zip.by_name(name).ok()?.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Each `<sheet>` of `workbook.xml` with the member its relationship points to.
fn sheets(workbook: &[u8], rels: &[u8]) -> Option<Vec<(String, String)>> {
    let targets = tag_pairs(rels, b"Relationship", [b"Id", b"Target"])?;
    let mut sheets = Vec::new();
    for [name, id] in tag_pairs(workbook, b"sheet", [b"name", b"r:id"])? {
        let target = &targets.iter().find(|[i, _]| *i == id)?[1];
        let path = match target.strip_prefix('/') {
            Some(absolute) => absolute.to_string(),
            None => format!("xl/{target}"),
        };
        sheets.push((name, path));
    }
    Some(sheets)
}

/// The attributes `keys` of every `<name …>` tag of `xml`, as text; `None` if a tag lacks one.
fn tag_pairs(xml: &[u8], name: &[u8], keys: [&[u8]; 2]) -> Option<Vec<[String; 2]>> {
    let opening = [b"<", name].concat();
    let mut pairs = Vec::new();
    for at in memmem::find_iter(xml, &opening) {
        let tag = open_tag(xml, at)?;
        if tag.name != name {
            continue;
        }
        let mut found: [Option<String>; 2] = [None, None];
        for (k, v) in attributes(tag.attrs) {
            if let Some(i) = keys.iter().position(|key| Some(*key) == k) {
                found[i] = Some(text(v?)?);
            }
            k?;
        }
        let [a, b] = found;
        pairs.push([a?, b?]);
    }
    Some(pairs)
}

/// The strings of `sharedStrings.xml`, in order.
fn shared_strings(xml: &[u8]) -> Option<Vec<Option<String>>> {
    let mut at = open_tag(xml, memmem::find(xml, b"<sst")?)?.end;
    let mut strings = Vec::new();
    let si_end = memmem::Finder::new(b"</si>");
    loop {
        at += memchr(b'<', &xml[at..])?;
        match element(xml, at)? {
            Element::Close(b"sst", _) => return Some(strings),
            Element::Open(tag) if tag.name == b"si" => {
                if tag.self_closing {
                    strings.push(Some(String::new()));
                    at = tag.end;
                } else {
                    let end = tag.end + si_end.find(&xml[tag.end..])? + b"</si>".len();
                    strings.push(string_items(xml, tag.end, b"si").map(|(s, _)| s));
                    at = end;
                }
            }
            _ => return None,
        }
    }
}

/// How much of a sheet's XML is inflated at a time: the national sheets are 10-12 MB of XML each,
/// which the cells need not wait for whole.
const CHUNK: u64 = 1 << 20;

/// The fewest bytes of sheet XML a cell with a value takes: `<c r="A1"><v>1</v></c>`.
const MIN_CELL_BYTES: u64 = 22;

/// A bound on the cells reserved ahead (256 MiB of address space, none of it touched unless used).
const MAX_CELLS_RESERVED: u64 = (256 << 20) / std::mem::size_of::<Cell>() as u64;

/// The cells of a worksheet's `<sheetData>`, the member inflated a chunk at a time and scanned up
/// to its last complete row.
fn sheet_cells(mut member: impl Read, strings: &[Option<String>], room: usize) -> Option<Cells> {
    let mut buf = Vec::with_capacity(2 * CHUNK as usize);
    let mut eof = false;
    let mut fill = |buf: &mut Vec<u8>, eof: &mut bool| -> Option<()> {
        let n = member.by_ref().take(CHUNK).read_to_end(buf).ok()?;
        *eof = n < CHUNK as usize;
        Some(())
    };
    let data = loop {
        if let Some(i) = memmem::find(&buf, b"<sheetData") {
            if memchr(b'>', &buf[i..]).is_some() {
                break open_tag(&buf, i)?;
            }
        }
        if eof {
            return None;
        }
        fill(&mut buf, &mut eof)?;
    };
    let mut cells = Cells { cells: Vec::with_capacity(room), text: String::new() };
    let done = match data.name {
        b"sheetData" if data.self_closing => true,
        b"sheetData" => false,
        _ => return None,
    };
    let mut at = data.end;
    if !done {
        loop {
            fill(&mut buf, &mut eof)?;
            let cut = if eof {
                buf.len()
            } else {
                match memmem::rfind(&buf[at..], b"</row>") {
                    Some(i) => at + i + b"</row>".len(),
                    // A row longer than the buffer: read on.
                    None => continue,
                }
            };
            if scan_rows(&buf[..cut], at, strings, &mut cells)? {
                break;
            }
            if eof {
                return None;
            }
            buf.drain(..cut);
            at = 0;
        }
    }
    // zip checks the CRC-32 once the member is read to its end.
    std::io::copy(&mut member, &mut std::io::sink()).ok()?;
    Some(cells)
}

/// Adds the cells of the complete rows in `xml[at..]` to `cells`: `Some(true)` once
/// `</sheetData>` is met, `Some(false)` at the end of `xml`.
fn scan_rows(xml: &[u8], mut at: usize, strings: &[Option<String>], cells: &mut Cells) -> Option<bool> {
    loop {
        // Text between elements is ignored, as calamine does.
        let Some(lt) = memchr(b'<', &xml[at..]) else { return Some(false) };
        at += lt;
        match element(xml, at)? {
            Element::Close(b"sheetData", _) => return Some(true),
            Element::Close(b"row", end) => at = end,
            Element::Open(tag) if tag.name == b"row" => at = tag.end,
            Element::Open(tag) if tag.name == b"c" => {
                let (mut reference, mut kind) = (None, None);
                for (k, v) in attributes(tag.attrs) {
                    match k? {
                        b"r" => reference = Some(v?),
                        b"t" => kind = Some(v?),
                        _ => {}
                    }
                }
                let (row, col) = cell_reference(reference?)?;
                at = tag.end;
                if tag.self_closing {
                    continue;
                }
                // Most cells are `<v>…</v></c>` exactly: read without the general loop below.
                if let Some((raw, end)) = plain_value(xml, at) {
                    cells.push_with(row, col, |text| value_text(raw, kind, strings, text))?;
                    at = end;
                    continue;
                }
                if let Some((raw, end)) = plain_inline(xml, at) {
                    cells.push(row, col, &decoded(raw, false)?);
                    at = end;
                    continue;
                }
                let mut value = None;
                loop {
                    at += memchr(b'<', &xml[at..])?;
                    match element(xml, at)? {
                        Element::Close(b"c", end) => {
                            at = end;
                            break;
                        }
                        Element::Open(child) if child.name == b"v" => {
                            let (raw, end) = content(xml, &child, b"v")?;
                            let mut text = String::new();
                            value = value_text(raw, kind, strings, &mut text)?.then_some(text);
                            at = end;
                        }
                        // A formula leaves its cached value to the `<v>` after it.
                        Element::Open(child) if child.name == b"f" => {
                            at = content(xml, &child, b"f")?.1;
                            value = None;
                        }
                        Element::Open(child) if child.name == b"is" => {
                            let (s, end) = if child.self_closing {
                                (String::new(), child.end)
                            } else {
                                string_items(xml, child.end, b"is")?
                            };
                            value = Some(s);
                            at = end;
                        }
                        _ => return None,
                    }
                }
                if let Some(value) = value {
                    cells.push(row, col, &value);
                }
            }
            _ => return None,
        }
    }
}

/// The content of `<v>…</v></c>` at `xml[at..]`, and the position after `</c>`.
#[inline]
fn plain_value(xml: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let from = at + xml.get(at..)?.strip_prefix(b"<v>").map(|_| 3)?;
    let lt = from + memchr(b'<', &xml[from..])?;
    xml[lt..].starts_with(b"</v></c>").then(|| (&xml[from..lt], lt + b"</v></c>".len()))
}

/// The content of `<is><t>…</t></is></c>` at `xml[at..]`, and the position after `</c>`.
#[inline]
fn plain_inline(xml: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let from = at + xml.get(at..)?.strip_prefix(b"<is><t>").map(|_| 7)?;
    let lt = from + memchr(b'<', &xml[from..])?;
    xml[lt..].starts_with(b"</t></is></c>").then(|| (&xml[from..lt], lt + b"</t></is></c>".len()))
}

/// The text of a `<v>`, as calamine values it, added to `text`: `Some(false)` for no value,
/// `None` for a value this reader does not know.
fn value_text(raw: &[u8], kind: Option<&[u8]>, strings: &[Option<String>], text: &mut String) -> Option<bool> {
    let s = match kind {
        // An inline string's value is its `<is>`; a `<v>` beside it is redundant.
        Some(b"inlineStr" | b"is") => return Some(false),
        _ if raw.is_empty() => return Some(kind == Some(&b"str"[..])),
        None | Some(b"n") => return number_text(raw, text).map(|()| true),
        Some(b"s") => {
            if raw.len() > 9 || !raw.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let i: usize = std::str::from_utf8(raw).ok()?.parse().ok()?;
            strings.get(i)?.as_deref()?
        }
        Some(b"b") => match raw {
            b"0" => "false",
            b"1" => "true",
            _ => return None,
        },
        Some(b"str") => &decoded(raw, true)?,
        _ => return None,
    };
    text.push_str(s);
    Some(true)
}

/// A number cell's text as `format!("{f}")` prints the `f64` it holds, added to `out`. A short
/// plain decimal (at most 15 significant digits, no superfluous zero) is its own shortest
/// representation, so only the others are parsed and printed.
fn number_text(raw: &[u8], out: &mut String) -> Option<()> {
    let digits = |from: usize| from + raw[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let sign = usize::from(raw.first() == Some(&b'-'));
    let int_end = digits(sign);
    let mut end = int_end;
    let mut frac = None;
    if raw.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        frac = Some(&raw[end + 1..frac_end]);
        end = frac_end;
    }
    let mut exponent = false;
    if matches!(raw.get(end), Some(b'e' | b'E')) {
        let from = end + 1 + usize::from(matches!(raw.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits(from);
        if exp_end == from {
            return None;
        }
        (exponent, end) = (true, exp_end);
    }
    let int = &raw[sign..int_end];
    if int.is_empty() || end != raw.len() || frac.is_some_and(<[u8]>::is_empty) {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    let significant = {
        let all = int.iter().chain(frac.unwrap_or_default());
        all.clone().count() - all.take_while(|&&c| c == b'0').count()
    };
    let canonical = !exponent
        && (int == b"0" || int[0] != b'0')
        && frac.is_none_or(|f| f.last() != Some(&b'0'))
        && significant <= 15;
    if canonical {
        out.push_str(text);
    } else {
        use std::fmt::Write;
        write!(out, "{}", text.parse::<f64>().ok()?).ok()?;
    }
    Some(())
}

/// The text of the `<t>` items of an `<is>` or `<si>` opened before `at`, concatenated as
/// calamine does (rich-text runs' formatting and phonetic runs left out), and the position after
/// its end tag.
fn string_items(xml: &[u8], mut at: usize, closing: &[u8]) -> Option<(String, usize)> {
    let mut s = String::new();
    let mut phonetic = false;
    loop {
        at += memchr(b'<', &xml[at..])?;
        match element(xml, at)? {
            Element::Close(name, end) if name == closing => return Some((s, end)),
            Element::Close(name, end) => {
                phonetic &= name != b"rPh";
                at = end;
            }
            Element::Open(t) if t.name == b"t" => {
                let preserve =
                    attributes(t.attrs).any(|(k, v)| k == Some(&b"xml:space"[..]) && v == Some(&b"preserve"[..]));
                let (raw, end) = content(xml, &t, b"t")?;
                if !phonetic {
                    s.push_str(&decoded(raw, preserve)?);
                }
                at = end;
            }
            Element::Open(tag) => {
                phonetic |= tag.name == b"rPh" && !tag.self_closing;
                at = tag.end;
            }
        }
    }
}

/// Text content with its entities resolved (line ends as XML reads them: `\r\n` and `\r` are
/// `\n`) and, unless `preserve`, its ASCII whitespace trimmed; `None` for Excel's `_xHHHH_`
/// escapes, which calamine resolves.
fn decoded(raw: &[u8], preserve: bool) -> Option<String> {
    let raw = std::str::from_utf8(raw).ok()?;
    let lines;
    let raw = if raw.contains('\r') {
        lines = raw.replace("\r\n", "\n").replace('\r', "\n");
        &lines[..]
    } else {
        raw
    };
    let s = quick_xml::escape::unescape(raw).ok()?;
    let s = if preserve { &s[..] } else { s.trim_matches([' ', '\t', '\r', '\n']) };
    if memmem::find(s.as_bytes(), b"_x").is_some() {
        return None;
    }
    Some(s.to_string())
}

/// The raw content of the element `tag` (named `name`), up to its end tag, and the position after
/// that end tag. Content holding markup (a comment, CDATA, a child) is not read here.
fn content<'x>(xml: &'x [u8], tag: &Tag, name: &[u8]) -> Option<(&'x [u8], usize)> {
    if tag.self_closing {
        return Some((&[], tag.end));
    }
    let lt = tag.end + memchr(b'<', &xml[tag.end..])?;
    match element(xml, lt)? {
        Element::Close(n, end) if n == name => Some((&xml[tag.end..lt], end)),
        _ => None,
    }
}

/// A cell reference (`B7`) as calamine reads it: 0-based row and column.
fn cell_reference(r: &[u8]) -> Option<(u32, u32)> {
    let letters = r.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 || r.len() == letters || r.len() - letters > 7 {
        return None;
    }
    let col = r[..letters].iter().fold(0u32, |n, c| n * 26 + u32::from(c.to_ascii_uppercase() - b'A') + 1);
    let row = r[letters..].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))?;
    Some((row.checked_sub(1)?, col - 1))
}

struct Tag<'x> {
    name: &'x [u8],
    attrs: &'x [u8],
    self_closing: bool,
    /// Position after the tag's `>`.
    end: usize,
}

enum Element<'x> {
    Open(Tag<'x>),
    /// An end tag's name and the position after its `>`.
    Close(&'x [u8], usize),
}

/// The tag starting at `xml[at] == b'<'`; `None` for a comment, declaration or instruction.
fn element(xml: &[u8], at: usize) -> Option<Element<'_>> {
    if xml.get(at + 1) == Some(&b'/') {
        let gt = at + 2 + memchr(b'>', &xml[at + 2..])?;
        let name = xml[at + 2..gt].trim_ascii_end();
        return Some(Element::Close(name, gt + 1));
    }
    open_tag(xml, at).map(Element::Open)
}

/// The start tag at `xml[at] == b'<'`: its `>` is the first outside a quoted attribute value.
fn open_tag(xml: &[u8], at: usize) -> Option<Tag<'_>> {
    let from = at + 1;
    let mut i = from;
    while !matches!(*xml.get(i)?, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
        i += 1;
    }
    let attrs_from = i;
    if attrs_from == from || !xml[from].is_ascii_alphabetic() {
        return None;
    }
    loop {
        match *xml.get(i)? {
            b'>' => {
                let (name, attrs) = (&xml[from..attrs_from], &xml[attrs_from..i]);
                return Some(Tag { name, attrs, self_closing: false, end: i + 1 });
            }
            b'/' if xml.get(i + 1) == Some(&b'>') => {
                let (name, attrs) = (&xml[from..attrs_from], &xml[attrs_from..i]);
                return Some(Tag { name, attrs, self_closing: true, end: i + 2 });
            }
            q @ (b'"' | b'\'') => i += 2 + memchr(q, &xml[i + 1..])?,
            _ => i += 1,
        }
    }
}

/// A tag's attributes as raw names and values; a malformed one yields `None`s.
fn attributes(mut s: &[u8]) -> impl Iterator<Item = (Option<&[u8]>, Option<&[u8]>)> {
    std::iter::from_fn(move || {
        s = s.trim_ascii_start();
        if s.is_empty() {
            return None;
        }
        let Some(eq) = memchr(b'=', s) else {
            s = &[];
            return Some((None, None));
        };
        let name = s[..eq].trim_ascii_end();
        let rest = s[eq + 1..].trim_ascii_start();
        let Some((&q, value)) = rest.split_first().filter(|(q, _)| matches!(q, b'"' | b'\'')) else {
            s = &[];
            return Some((None, None));
        };
        let Some(close) = memchr(q, value) else {
            s = &[];
            return Some((None, None));
        };
        s = &value[close + 1..];
        Some((Some(name), Some(&value[..close])))
    })
}

/// An attribute value as text, its entities resolved.
fn text(raw: &[u8]) -> Option<String> {
    quick_xml::escape::unescape(std::str::from_utf8(raw).ok()?).ok().map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_cells_print_as_the_f64_they_hold() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "00",
            "007",
            "1.50",
            "2.649",
            "1.8280000000000001",
            "14002.684999999999",
            "1E-3",
            "7e+2",
            "-12.5e-3",
            "123456789012345",
            "1234567890123456",
            "0.000001234",
            "99999999999999999999",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..100_000 {
            let r = next();
            let x = f64::from_bits(r) % 1e9;
            if x.is_finite() {
                // Shortest form, 15 and 17 significant digits, Excel's exponent form.
                let digits = (next() % 12) as usize;
                texts.extend([format!("{x}"), format!("{x:.digits$}"), format!("{:.14e}", x), format!("{:.16e}", x)]);
            }
        }
        let number = |raw: &str| {
            // After a first cell's text, as in a sheet's buffer.
            let mut out = String::from("28001");
            number_text(raw.as_bytes(), &mut out).map(|()| out.split_off(5))
        };
        for t in &texts {
            let expected = format!("{}", t.parse::<f64>().unwrap());
            assert_eq!(number(t).as_deref(), Some(expected.as_str()), "{t}");
        }
        for not_a_number in ["", "-", ".5", "5.", "1e", "1e+", "+1", "inf", "NaN", "1,5", " 1", "0x10", "1.2.3"] {
            assert_eq!(number(not_a_number), None, "{not_a_number:?}");
        }
    }

    #[test]
    fn cell_references_as_calamine_reads_them() {
        assert_eq!(cell_reference(b"A1"), Some((0, 0)));
        assert_eq!(cell_reference(b"d9"), Some((8, 3)));
        assert_eq!(cell_reference(b"AA10"), Some((9, 26)));
        assert_eq!(cell_reference(b"XFD1048576"), Some((1_048_575, 16_383)));
        for bad in [&b"A0"[..], b"A", b"1", b"A1B", b"", b"A-1"] {
            assert_eq!(cell_reference(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
