//! Readers for the tabular shapes the publishers really ship: delimited text (optionally gzip),
//! with or without BOM, with preamble lines above the header, `;` or `,`; and xlsx sheets whose
//! header is not on the first row. They return raw strings with their line numbers so that every
//! later parse error can name `file:line: column "X"`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// Delimiters tried, in order, when looking for the header line.
const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];
/// How many lines above the header a publisher may put (INSEE: 2, ANCT xlsx: 4, DREES xlsx: 8).
const MAX_PREAMBLE: usize = 12;

/// One row of a table: its cells' texts side by side in one buffer. A `String` per cell made
/// seven allocations per row of the APL workbook (420 000 cells): the workbooks' tables were a
/// sixth of `build`'s fresh pages (docs/performance.md).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// 1-based line (text) or row (spreadsheet) number in the original file.
    pub line: u64,
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<u32>,
}

impl RawRow {
    /// The cells are walked twice (to size the buffer first): pass an iterator that is cheap to
    /// clone, of borrowed texts.
    pub fn new<S: AsRef<str>, I: IntoIterator<Item = S>>(line: u64, cells: I) -> RawRow
    where
        I::IntoIter: Clone,
    {
        let cells = cells.into_iter();
        let (count, bytes) = cells.clone().fold((0, 0), |(n, b), c| (n + 1, b + c.as_ref().len()));
        let mut row = RawRow { line, text: String::with_capacity(bytes), ends: Vec::with_capacity(count) };
        for c in cells {
            row.text.push_str(c.as_ref());
            row.ends.push(u32::try_from(row.text.len()).expect("a row under 4 GiB"));
        }
        row
    }

    /// Cell `i`, if the row has it.
    pub fn cell(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.text[start..end])
    }

    pub fn cells(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.cell(i).expect("in range"))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn last(&self) -> Option<&str> {
        self.len().checked_sub(1).and_then(|i| self.cell(i))
    }
}

#[derive(Debug, Clone)]
pub struct RawTable {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub header_line: u64,
    pub delimiter: Option<u8>,
    /// The text ended with a newline (always true for a workbook): a publisher that always
    /// writes one tells a file cut at a line boundary from a whole one.
    pub ends_with_newline: bool,
    pub rows: Vec<RawRow>,
}

/// What a number cell turned out to be. `Missing` covers the publishers' explicit markers
/// (`N/A - résultat non disponible`, `N/A - secret statistique`, `NS`, `NC`, empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Value(f64),
    Missing,
}

impl RawTable {
    /// Index of a required column; a missing one is an error that lists the header and the
    /// closest name, so a renamed column is obvious.
    pub fn column(&self, name: &str) -> Result<usize> {
        column_in(&self.path, self.header_line, &self.headers, name)
    }

    /// Index of the one column whose name starts with `prefix`: publishers put the year in some
    /// headers (`Population totale 2021`), so the year is read from the header, not assumed.
    pub fn column_starting_with(&self, prefix: &str) -> Result<usize> {
        column_starting_with_in(&self.path, self.header_line, &self.headers, prefix)
    }

    pub fn location(&self, row: &RawRow, column: usize) -> Location {
        Location::at(&self.path, row.line).col(&self.headers[column])
    }

    pub fn text<'a>(&self, row: &'a RawRow, column: usize) -> &'a str {
        row.cell(column).map(trim).unwrap_or("")
    }

    pub fn number(&self, row: &RawRow, column: usize) -> Result<Num> {
        parse_number(self.text(row, column)).map_err(|m| Error::data(self.location(row, column), m))
    }

    /// A number that must be present.
    pub fn required_number(&self, row: &RawRow, column: usize) -> Result<f64> {
        match self.number(row, column)? {
            Num::Value(v) => Ok(v),
            Num::Missing => Err(Error::data(self.location(row, column), "value is missing")),
        }
    }

    /// An INSEE commune code, validated.
    pub fn commune_code(&self, row: &RawRow, column: usize) -> Result<String> {
        let raw = self.text(row, column);
        normalize_commune_code(raw)
            .ok_or_else(|| Error::data(self.location(row, column), format!("\"{raw}\" is not an INSEE commune code")))
    }
}

/// [`RawTable::column`] of a header read elsewhere (`header_line` of `path`).
pub fn column_in(path: &Path, header_line: u64, headers: &[String], name: &str) -> Result<usize> {
    if let Some(i) = headers.iter().position(|h| h == name) {
        return Ok(i);
    }
    let hint = closest(name, headers.iter().map(|s| s.as_str()))
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default();
    Err(Error::MissingColumn {
        location: Location::at(path, header_line),
        column: name.to_string(),
        detail: format!(
            "(header has: {}){hint}",
            headers.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
        ),
    })
}

/// [`RawTable::column_starting_with`] of a header read elsewhere.
pub fn column_starting_with_in(path: &Path, header_line: u64, headers: &[String], prefix: &str) -> Result<usize> {
    let hits: Vec<usize> = (0..headers.len()).filter(|&i| headers[i].starts_with(prefix)).collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => column_in(path, header_line, headers, prefix),
        _ => Err(Error::data(
            Location::at(path, header_line),
            format!(
                "several columns start with \"{prefix}\": {}",
                hits.iter().map(|&i| format!("\"{}\"", headers[i])).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// `s.trim()`, answering at once for the usual cell that starts and ends with a visible ASCII
/// character (no Unicode white space is ASCII above the space): `str::trim` was a tenth of
/// the staging time.
#[inline]
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let visible = |c: u8| c > b' ' && c < 0x80;
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if visible(f) && visible(l) => s,
        _ => s.trim(),
    }
}

/// Parse a publisher's number cell.
pub fn parse_number(s: &str) -> std::result::Result<Num, String> {
    let s = trim(s);
    if s.is_empty() || s.starts_with("N/A") || s == "NS" || s == "NC" || s == "s" || s == "nd" {
        return Ok(Num::Missing);
    }
    if let Some(v) = short_decimal(s.as_bytes()) {
        return Ok(Num::Value(v));
    }
    // fast-float2 (already built for calamine) reads the plain decimals of every CSV several
    // times faster than std's parser; anything it refuses goes through the slower paths below.
    if let Ok(v) = fast_float2::parse::<f64, _>(s) {
        if v.is_finite() {
            return Ok(Num::Value(v));
        }
    }
    // French exports sometimes use a decimal comma (and a space as thousands separator).
    let fr: String = s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}').collect();
    if let Ok(v) = fr.replace(',', ".").parse::<f64>() {
        if v.is_finite() {
            return Ok(Num::Value(v));
        }
    }
    Err(format!("cannot read \"{s}\" as a number"))
}

/// Powers of ten that an f64 holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A decimal written `-?digits(.digits)?` whose digits make an integer of at most 2^53: its value
/// is that integer divided by a power of ten, both exact in an f64, so the division's one
/// rounding gives the correctly rounded decimal (Clinger's fast path, the value fast-float gives
/// too; a test compares their bits). Nearly every number of the published files is one; reading
/// them here costs a third of fast-float's general path. `None` for anything else.
fn short_decimal(s: &[u8]) -> Option<f64> {
    let (negative, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, s),
    };
    // At most 19 digits: the integer below cannot overflow a u64 before it is compared.
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let (mut m, mut point) = (0u64, None);
    for (i, &b) in digits.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            m = m * 10 + u64::from(d);
        } else if b == b'.' && point.is_none() && i > 0 && i + 1 < digits.len() {
            point = Some(i);
        } else {
            return None;
        }
    }
    let scale = point.map_or(0, |p| digits.len() - p - 1);
    if m > 1 << 53 {
        return None;
    }
    let v = m as f64 / EXACT_POW10[scale];
    Some(if negative { -v } else { v })
}

/// `01001`, `2A004`, `97411`, `75113`. Spreadsheets that stored codes as numbers lose the leading
/// zero (`1001`): that one case is repaired, anything else is rejected.
pub fn normalize_commune_code(raw: &str) -> Option<String> {
    let s = trim(raw);
    let b = s.as_bytes();
    let ok5 = b.len() == 5
        && b[0].is_ascii_digit()
        && (b[1].is_ascii_digit() || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')))
        && b[2..].iter().all(|c| c.is_ascii_digit());
    if ok5 {
        return Some(s.to_string());
    }
    if b.len() == 4 && b.iter().all(|c| c.is_ascii_digit()) {
        return Some(format!("0{s}"));
    }
    None
}

/// [`normalize_commune_code`], borrowing the code when it needs no repair.
pub fn normalize_commune_code_cow(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let s = trim(raw);
    let b = s.as_bytes();
    if b.len() == 5
        && b[0].is_ascii_digit()
        && (b[1].is_ascii_digit() || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')))
        && b[2..].iter().all(|c| c.is_ascii_digit())
    {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    normalize_commune_code(s).map(std::borrow::Cow::Owned)
}

/// Open a file, transparently gunzipping `*.gz`, and return its text without a BOM.
pub fn read_text(path: &Path) -> Result<String> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        bytes = super::gzip::gunzip(path, &bytes)?;
    }
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid].iter().filter(|&&c| c == b'\n').count() as u64 + 1;
            return Err(Error::data(
                Location::at(path, line),
                "not valid UTF-8 (the file may be latin-1; re-export it as UTF-8)",
            ));
        }
    };
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

fn split_header(line: &str, delim: u8) -> Vec<String> {
    line.trim_end_matches(['\r', '\n'])
        .split(delim as char)
        .map(|s| s.trim().trim_matches('"').trim().to_string())
        .collect()
}

/// Read a delimited text file. The header is the first of the first lines that contains
/// `key_column` when split on one of `;`, `,`, tab, `|`; lines above it are preamble.
/// Every column in `required` must be present.
pub fn read_delimited(path: &Path, key_column: &str, required: &[&str]) -> Result<RawTable> {
    parse_delimited(path, &read_text(path)?, key_column, required)
}

/// [`read_delimited`] on text already read (e.g. a zip member); `path` names it in errors.
pub fn parse_delimited(path: &Path, text: &str, key_column: &str, required: &[&str]) -> Result<RawTable> {
    let d = Delimited::new(path, text, key_column)?;
    let mut rows = Vec::new();
    d.for_each_record(|line, record| {
        rows.push(RawRow::new(line, record.iter()));
        Ok(())
    })?;
    let table = RawTable {
        path: path.to_path_buf(),
        headers: d.headers,
        header_line: d.header_line,
        delimiter: Some(d.delimiter),
        ends_with_newline: d.ends_with_newline,
        rows,
    };
    for c in required {
        table.column(c)?;
    }
    Ok(table)
}

/// A delimited text found by its header, read record by record into one reused record: the
/// typed readers stage values from it without a `String` per cell ([`parse_delimited`] keeps
/// them all, for the sources read as text).
pub struct Delimited<'t> {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub header_line: u64,
    pub delimiter: u8,
    pub ends_with_newline: bool,
    /// The header ends with a delimiter (RPPS): every record has one empty extra field.
    trailing_empty: bool,
    data: &'t str,
}

/// One record's fields: borrowed from the text itself when it holds no quote (see
/// [`Delimited::for_each_record`]), else from the csv reader's record.
pub enum Record<'a> {
    Csv(&'a csv::StringRecord),
    Plain(&'a [&'a str]),
}

impl Record<'_> {
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Record::Csv(r) => r.get(i),
            Record::Plain(f) => f.get(i).copied(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Record::Csv(r) => r.len(),
            Record::Plain(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }
}

impl<'t> Delimited<'t> {
    /// The header is the first of the first lines that contains `key_column` when split on one
    /// of `;`, `,`, tab, `|`; lines above it are preamble.
    pub fn new(path: &Path, text: &'t str, key_column: &str) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut offset = 0usize;
        let mut found = None;
        let mut first_line_fields: Option<Vec<String>> = None;
        for (i, line) in text.split_inclusive('\n').take(MAX_PREAMBLE).enumerate() {
            for d in DELIMITERS {
                let fields = split_header(line, d);
                if fields.iter().any(|f| f == key_column) {
                    found = Some((i as u64 + 1, d, offset, offset + line.len()));
                    break;
                }
            }
            if found.is_some() {
                break;
            }
            if first_line_fields.is_none() {
                let best = DELIMITERS.iter().max_by_key(|&&d| line.matches(d as char).count()).copied().unwrap_or(b',');
                first_line_fields = Some(split_header(line, best));
            }
            offset += line.len();
        }
        let Some((header_line, delimiter, header_start, data_start)) = found else {
            let found = first_line_fields.unwrap_or_default();
            let hint = closest(key_column, found.iter().map(|s| s.as_str()))
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_default();
            return Err(Error::MissingColumn {
                location: Location::at(path, 1),
                column: key_column.to_string(),
                detail: format!(
                    "(header has: {}){hint}",
                    found.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
                ),
            });
        };
        let mut headers = split_header(&text[header_start..data_start], delimiter);
        // The RPPS extraction ends its header with a trailing delimiter: one empty extra column.
        let trailing_empty = headers.last().is_some_and(|h| h.is_empty());
        if trailing_empty {
            headers.pop();
        }
        Ok(Delimited {
            path: path.to_path_buf(),
            headers,
            header_line,
            delimiter,
            ends_with_newline: text.ends_with('\n'),
            trailing_empty,
            data: &text[data_start..],
        })
    }

    /// [`column_in`] this header.
    pub fn column(&self, name: &str) -> Result<usize> {
        column_in(&self.path, self.header_line, &self.headers, name)
    }

    /// Where a cell is, for errors.
    pub fn location(&self, line: u64, column: usize) -> Location {
        Location::at(&self.path, line).col(&self.headers[column])
    }

    /// Every record under the header with its 1-based line, blank lines skipped, each with
    /// exactly one field per header column (else an error naming the line).
    pub fn for_each_record(&self, f: impl FnMut(u64, &Record<'_>) -> Result<()>) -> Result<()> {
        if self.is_plain() {
            self.for_each_plain(f)
        } else {
            self.for_each_csv(f)
        }
    }

    /// Whether the records are the text's lines split at the delimiter, exactly as the csv
    /// reader reads them: no quote (nothing is quoted), a carriage return only before a line
    /// feed (`\r\n` ends a line as `\n` does) and no empty line (which the reader skips, counting
    /// it in the next record's line). The published CSVs are all plain; splitting them directly
    /// saves the csv reader's state machine and copies (docs/performance.md).
    fn is_plain(&self) -> bool {
        let b = self.data.as_bytes();
        memchr::memchr(b'"', b).is_none()
            && memchr::memchr_iter(b'\r', b).all(|i| b.get(i + 1) == Some(&b'\n'))
            && !(b.starts_with(b"\n") || b.starts_with(b"\r\n"))
            && memchr::memmem::find(b, b"\n\n").is_none()
            && memchr::memmem::find(b, b"\n\r\n").is_none()
    }

    fn for_each_plain(&self, mut f: impl FnMut(u64, &Record<'_>) -> Result<()>) -> Result<()> {
        let (data, delimiter) = (self.data, self.delimiter);
        let mut fields: Vec<&str> = Vec::with_capacity(self.headers.len() + 1);
        let mut line = self.header_line;
        let mut start = 0;
        // Lines found with memchr, fields by `split_fields`: `str::split` on a char searched
        // each short field at ~140 instructions a call, `memchr` at more than a byte loop. Both
        // cut at ASCII bytes, so every slice is on a character boundary.
        let ends = memchr::memchr_iter(b'\n', data.as_bytes()).chain((!data.ends_with('\n')).then_some(data.len()));
        for end in ends {
            let text = &data[start..end];
            start = end + 1;
            line += 1;
            let text = text.strip_suffix('\r').unwrap_or(text);
            fields.clear();
            split_fields(text, delimiter, &mut fields);
            if fields.len() == 1 && fields[0].trim().is_empty() {
                continue;
            }
            if self.trailing_empty
                && fields.len() == self.headers.len() + 1
                && fields.last().is_some_and(|c| c.is_empty())
            {
                fields.pop();
            }
            self.check_width(line, fields.len())?;
            f(line, &Record::Plain(&fields))?;
        }
        Ok(())
    }

    fn for_each_csv(&self, mut f: impl FnMut(u64, &Record<'_>) -> Result<()>) -> Result<()> {
        let path = &self.path;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(self.data.as_bytes());
        let mut record = csv::StringRecord::new();
        let bytes = self.data.as_bytes();
        // The line a record starts on, counted here: the reader's own count lags by one on each
        // `\r\n` and on each empty line it skips (tested).
        let (mut counted_to, mut lines_before) = (0usize, 0u64);
        loop {
            let line = self.header_line + reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(Error::data(Location::at(path, line), format!("malformed line: {e}"))),
            }
            let mut start = record.position().map_or(counted_to, |p| p.byte() as usize).max(counted_to);
            while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
                start += 1;
            }
            lines_before += memchr::memchr_iter(b'\n', &bytes[counted_to..start.min(bytes.len())]).count() as u64;
            counted_to = start.min(bytes.len());
            let line = self.header_line + 1 + lines_before;
            if record.len() == 1 && record[0].trim().is_empty() {
                continue;
            }
            if self.trailing_empty
                && record.len() == self.headers.len() + 1
                && record.get(record.len() - 1).is_some_and(|c| c.is_empty())
            {
                record.truncate(record.len() - 1);
            }
            self.check_width(line, record.len())?;
            f(line, &Record::Csv(&record))?;
        }
        Ok(())
    }

    fn check_width(&self, line: u64, fields: usize) -> Result<()> {
        if fields != self.headers.len() {
            return Err(Error::data(
                Location::at(&self.path, line),
                format!(
                    "expected {} fields separated by '{}', found {fields}",
                    self.headers.len(),
                    self.delimiter as char,
                ),
            ));
        }
        Ok(())
    }
}

/// `line`'s fields between `delimiter`s, into `fields`. Eight bytes at a time: a word's bytes
/// equal to the delimiter are found at once (each byte's high bit set when it is not zero after
/// the xor, with no carry between bytes), then the rest byte by byte. The delimiter is ASCII, so
/// every cut is on a character boundary.
fn split_fields<'a>(line: &'a str, delimiter: u8, fields: &mut Vec<&'a str>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let b = line.as_bytes();
    let spread = u64::from(delimiter) * 0x0101_0101_0101_0101;
    let mut from = 0;
    let mut at = 0;
    while at + 8 <= b.len() {
        let x = u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes")) ^ spread;
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            let i = at + (hits.trailing_zeros() / 8) as usize;
            fields.push(&line[from..i]);
            from = i + 1;
            hits &= hits - 1;
        }
        at += 8;
    }
    for (i, &c) in b.iter().enumerate().skip(at) {
        if c == delimiter {
            fields.push(&line[from..i]);
            from = i + 1;
        }
    }
    fields.push(&line[from..]);
}

/// Read one sheet of an xlsx workbook; the header row is the first row (of the first dozen)
/// holding `key_column`. Row numbers are the spreadsheet's own (1-based).
pub fn read_xlsx(path: &Path, sheet: &str, key_column: &str, required: &[&str]) -> Result<RawTable> {
    Ok(read_xlsx_sheets(path, &[sheet], key_column, required)?.pop().expect("one sheet asked, one read"))
}

/// [`read_xlsx`] of several sheets of one workbook, opened once (its shared strings parsed once).
pub fn read_xlsx_sheets(path: &Path, sheets: &[&str], key_column: &str, required: &[&str]) -> Result<Vec<RawTable>> {
    let book = std::fs::File::open(path).ok().and_then(|f| super::xlsx::Book::open(std::io::BufReader::new(f)));
    workbook_tables(path, book, || calamine::open_workbook_auto(path), sheets, key_column, required)
}

/// [`read_xlsx`] on a workbook held in memory (e.g. a zip member); `label` names it in errors.
pub fn read_xlsx_bytes(
    label: &Path,
    bytes: Vec<u8>,
    sheet: &str,
    key_column: &str,
    required: &[&str],
) -> Result<RawTable> {
    let book = super::xlsx::Book::open(std::io::Cursor::new(&bytes[..]));
    let open = || calamine::open_workbook_auto_from_rs(std::io::Cursor::new(&bytes[..]));
    Ok(workbook_tables(label, book, open, &[sheet], key_column, required)?.pop().expect("one sheet asked, one read"))
}

/// The sheets of a workbook, each read by [`super::xlsx::Book`] when its layout allows, by
/// calamine (`open`) otherwise, which also names the faults of a damaged workbook.
fn workbook_tables<R: std::io::Read + std::io::Seek, RS: std::io::Read + std::io::Seek>(
    label: &Path,
    mut book: Option<super::xlsx::Book<R>>,
    open: impl FnOnce() -> std::result::Result<calamine::Sheets<RS>, calamine::Error>,
    sheets: &[&str],
    key_column: &str,
    required: &[&str],
) -> Result<Vec<RawTable>> {
    let mut open = Some(open);
    let mut calamine_book = None;
    let mut tables = Vec::with_capacity(sheets.len());
    for sheet in sheets {
        if let Some(cells) = book.as_mut().and_then(|b| b.cells(sheet)) {
            tables.push(rows_table(label, sheet, cell_rows(cells), key_column, required)?);
            continue;
        }
        let wb = match &mut calamine_book {
            Some(wb) => wb,
            None => calamine_book.insert(
                open.take().expect("opened once")()
                    .map_err(|e| Error::data(Location::file(label), format!("cannot open workbook: {e}")))?,
            ),
        };
        tables.push(sheet_table(wb, label, sheet, key_column, required)?);
    }
    Ok(tables)
}

/// [`zip_member`] as UTF-8 text (the INSEE CSVs inside their zips).
pub fn zip_member_text(path: &Path, pattern: &str) -> Result<(String, PathBuf)> {
    let (bytes, label) = zip_member(path, pattern)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::data(Location::file(&label), "not valid UTF-8"))?;
    Ok((text, label))
}

/// The bytes of the first member of a zip archive whose file name matches `pattern` (`*`
/// wildcard, case-insensitive), and the label `archive.zip!member` for error messages.
pub fn zip_member(path: &Path, pattern: &str) -> Result<(Vec<u8>, PathBuf)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut z = ::zip::ZipArchive::new(std::io::BufReader::new(f))
        .map_err(|e| Error::data(Location::file(path), format!("not a readable zip: {e}")))?;
    let names: Vec<String> = z
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::data(Location::file(path), e.to_string()))?;
    let name = names
        .iter()
        .find(|n| crate::fetch::unpack::glob_match(pattern, n.rsplit('/').next().unwrap_or(n)))
        .ok_or_else(|| {
            Error::data(Location::file(path), format!("no {pattern} member (archive has: {})", names.join(", ")))
        })?
        .clone();
    let mut bytes = Vec::new();
    z.by_name(&name)
        .map_err(|e| Error::data(Location::file(path), e.to_string()))?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok((bytes, PathBuf::from(format!("{}!{name}", path.display()))))
}

/// The latest (by name) file of `dir` whose name matches `pattern`.
pub fn find_latest(dir: &Path, pattern: &str) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().is_some_and(|n| crate::fetch::unpack::glob_match(pattern, &n.to_string_lossy()))
        })
        .collect();
    hits.sort();
    hits.pop()
}

fn sheet_table<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Sheets<RS>,
    path: &Path,
    sheet: &str,
    key_column: &str,
    required: &[&str],
) -> Result<RawTable> {
    use calamine::Reader;
    let names = wb.sheet_names().to_vec();
    if !names.iter().any(|n| n == sheet) {
        return Err(Error::data(
            Location::file(path),
            format!("sheet \"{sheet}\" missing (workbook has: {})", names.join(", ")),
        ));
    }
    rows_table(path, sheet, sheet_rows(wb, path, sheet)?, key_column, required)
}

/// A sheet's rows (consecutive, numbered as the spreadsheet numbers them) as a table: the header
/// row is the first of the first dozen holding `key_column`; empty rows are skipped.
fn rows_table(
    path: &Path,
    sheet: &str,
    sheet_rows: Vec<RawRow>,
    key_column: &str,
    required: &[&str],
) -> Result<RawTable> {
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut rows = Vec::with_capacity(sheet_rows.len());
    for (i, row) in sheet_rows.into_iter().enumerate() {
        if header.is_none() {
            if i >= MAX_PREAMBLE {
                break;
            }
            if row.cells().any(|c| c.trim() == key_column) {
                header = Some((row.line, row.cells().map(|c| c.trim().to_string()).collect()));
            }
            continue;
        }
        if row.cells().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(row);
    }
    let Some((header_line, headers)) = header else {
        return Err(Error::MissingColumn {
            location: Location::file(path).col(sheet),
            column: key_column.to_string(),
            detail: format!("(no header row with it in the first {MAX_PREAMBLE} rows of sheet \"{sheet}\")"),
        });
    };
    let table =
        RawTable { path: path.to_path_buf(), headers, header_line, delimiter: None, ends_with_newline: true, rows };
    for c in required {
        table.column(c)?;
    }
    Ok(table)
}

/// The sheet's rows from its first to its last non-empty row, each as text cells from its first to
/// its last non-empty column (calamine's used range), and the first row's 0-based index.
fn sheet_rows<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Sheets<RS>,
    path: &Path,
    sheet: &str,
) -> Result<Vec<RawRow>> {
    let fault = |e: &dyn std::fmt::Display| Error::data(Location::file(path), format!("sheet \"{sheet}\": {e}"));
    let calamine::Sheets::Xlsx(xlsx) = wb else { return range_rows(wb, path, sheet) };
    // An xlsx sheet is streamed cell by cell, each cell's text made once from calamine's borrowed
    // value: its used range (`worksheet_range`) held every cell as a dense matrix of owned values,
    // cloned again into text (52 M instructions of `build`'s 10 G; calamine's XML reading is the rest).
    let mut reader = match xlsx.worksheet_cells_reader(sheet) {
        Ok(r) => r,
        // As `worksheet_range`: a chart sheet has no cells.
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(fault(&e)),
    };
    use calamine::DataType;
    let mut cells = super::xlsx::Cells::default();
    while let Some(cell) = reader.next_cell().map_err(|e| fault(&e))? {
        if cell.get_value().is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        cells.push(row, col, &cell_text(cell.get_value().clone().into()));
    }
    Ok(cell_rows(cells))
}

/// The rows of a sheet's cells (those with a value), from its first to its last non-empty row,
/// each from the first to the last non-empty column (calamine's used range), numbered as the
/// spreadsheet numbers them (1-based).
fn cell_rows(sheet: super::xlsx::Cells) -> Vec<RawRow> {
    let super::xlsx::Cells { mut cells, text } = sheet;
    // Cells come in sheet order but need not (as calamine's own reading assumes); stable, so that
    // of two cells at one place the later wins, as in its used range.
    if !cells.is_sorted_by_key(|c| (c.0, c.1)) {
        cells.sort_by_key(|c| (c.0, c.1));
    }
    let (Some(first), Some(last)) = (cells.first(), cells.last()) else { return Vec::new() };
    let (first_row, last_row) = (first.0, last.0);
    let first_col = cells.iter().map(|c| c.1).min().expect("a cell");
    let width = (cells.iter().map(|c| c.1).max().expect("a cell") - first_col + 1) as usize;
    let mut rows = Vec::with_capacity((last_row - first_row + 1) as usize);
    let (mut row, mut at) = (vec![""; width], 0);
    for r in first_row..=last_row {
        row.fill("");
        while let Some(&(_, col, start, end)) = cells.get(at).filter(|c| c.0 == r) {
            row[(col - first_col) as usize] = &text[start as usize..end as usize];
            at += 1;
        }
        rows.push(RawRow::new(u64::from(r) + 1, &row));
    }
    rows
}

/// [`sheet_rows`] through calamine's used range, for the other workbook formats.
fn range_rows<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Sheets<RS>,
    path: &Path,
    sheet: &str,
) -> Result<Vec<RawRow>> {
    use calamine::Reader;
    let range =
        wb.worksheet_range(sheet).map_err(|e| Error::data(Location::file(path), format!("sheet \"{sheet}\": {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            let cells: Vec<String> = r.iter().cloned().map(cell_text).collect();
            RawRow::new(first_row + i as u64 + 1, cells.iter())
        })
        .collect())
}

/// A workbook cell as the text a CSV would hold.
fn cell_text(d: calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s,
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => format!("{}", d.as_f64()),
        Data::Error(e) => format!("#ERROR {e}"),
    }
}

/// Levenshtein distance, for "did you mean" hints on column and commune names.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lname = name.to_lowercase();
    candidates
        .map(|c| (levenshtein(&lname, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_gives_back_each_cell_as_it_was_given() {
        let cells = ["28001", "", "Bêta & Cie", " 1,5 ", ""];
        let row = RawRow::new(7, cells);
        assert_eq!((row.line, row.len(), row.is_empty()), (7, 5, false));
        assert_eq!(row.cells().collect::<Vec<_>>(), cells);
        assert_eq!((row.cell(2), row.cell(4), row.cell(5)), (Some("Bêta & Cie"), Some(""), None));
        assert_eq!(row.last(), Some(""));
        let empty = RawRow::new(8, Vec::<String>::new());
        assert_eq!((empty.len(), empty.is_empty(), empty.cell(0), empty.last()), (0, true, None, None));
        assert_eq!(RawRow::new(1, ["", ""]).cells().collect::<Vec<_>>(), ["", ""]);
    }

    /// Every record as (line, fields) and the error that stopped the reading, if any.
    type Read = (Vec<(u64, Vec<String>)>, Option<String>);

    fn read(d: &Delimited, plain: bool) -> Read {
        let mut out = Vec::new();
        let mut push = |line: u64, r: &Record<'_>| {
            out.push((line, r.iter().map(str::to_string).collect()));
            Ok(())
        };
        let e = if plain { d.for_each_plain(&mut push) } else { d.for_each_csv(&mut push) };
        (out, e.err().map(|e| e.to_string()))
    }

    #[test]
    fn fields_split_eight_bytes_at_a_time_as_str_split_splits_them() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = ["a", ",", ";", "é", "1", " ", "\u{2c}\u{2c}", "ÿ", "\u{7f}", "\u{80}"];
        for n in 0..5_000 {
            let mut line = String::new();
            for _ in 0..n % 40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            for d in [b',', b';'] {
                let mut fields = Vec::new();
                split_fields(&line, d, &mut fields);
                assert_eq!(fields, line.split(d as char).collect::<Vec<_>>(), "{line:?}");
            }
        }
    }

    #[test]
    fn short_decimals_read_as_fast_float_reads_them() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1.89",
            "810.855",
            "46.1517",
            "-4.9306",
            "007.50",
            "9007199254740992",
            "9007199254740993",
            "0.1",
            "0.3",
            "123456789012345678",
            "1234567890.12345678",
            "999999999999999999",
            "1.",
            ".5",
            "-",
            "-.5",
            "1e5",
            "+1",
            "1,5",
            "1.2.3",
            " 1",
            "",
        ]
        .map(String::from)
        .to_vec();
        // Many more, from a fixed generator: digits, a point, a sign.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (int, frac) = ((x % 12) as usize + 1, ((x >> 8) % 12) as usize);
            let mut t = String::new();
            if x >> 20 & 1 == 1 {
                t.push('-');
            }
            for k in 0..int + frac {
                if k == int {
                    t.push('.');
                }
                t.push(char::from(b'0' + ((x >> (24 + 2 * (k % 16))) % 10) as u8));
            }
            texts.push(t);
        }
        let mut read = 0;
        for t in &texts {
            let fast = fast_float2::parse::<f64, _>(t.as_str()).ok();
            if let Some(v) = short_decimal(t.as_bytes()) {
                read += 1;
                assert_eq!(Some(v.to_bits()), fast.map(f64::to_bits), "{t}");
            }
        }
        assert!(read > 150_000, "{read}");
        for t in ["1.", ".5", "-", "1e5", "+1", "1,5", "1.2.3", "9007199254740993", "1234567890123456789", ""] {
            assert_eq!(short_decimal(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn plain_lines_split_as_the_csv_reader_reads_them() {
        let p = Path::new("t.csv");
        let plain = [
            "préambule\ncode,nom,n\n01001,L'Abergement-Clémenciat,3\n01002,Saint-Étienne,4\n",
            "code,nom,n\r\n01001,Ambérieu,3\r\n01002,B,\r\n",
            "code,nom,n\n01001,A,3\n   \n01002,B,4",
            "code;nom;n;\n01001;A;3;\n01002;B;4;\n",
            "code,nom,n\n01001,A,3\n01002,B\n01003,C,5\n",
            "code,nom,n\n01001,A,3,9\n",
            "code|nom|n\n01001||\n",
            "code,nom,n\n",
        ];
        for text in plain {
            let d = Delimited::new(p, text, "code").unwrap();
            assert!(d.is_plain(), "{text:?}");
            let (csv, fast) = (read(&d, false), read(&d, true));
            assert!(!csv.0.is_empty() || csv.1.is_some() || text.ends_with("n\n"), "{text:?}");
            assert_eq!(fast, csv, "{text:?}");
        }
        // Lines are the text's own, whatever ends them and whatever is skipped.
        let lines = |text: &str| {
            let d = Delimited::new(p, text, "code").unwrap();
            let (fast, csv) = (d.is_plain().then(|| read(&d, true)), read(&d, false));
            if let Some(fast) = fast {
                assert_eq!(fast, csv, "{text:?}");
            }
            csv.0.iter().map(|(l, _)| *l).collect::<Vec<_>>()
        };
        assert_eq!(lines("x\ncode,n\r\n1,2\r\n3,4\r\n5,6\r\n"), [3, 4, 5]);
        assert_eq!(lines("code,n\n1,2\n\n\n3,4\n"), [2, 5]);
        assert_eq!(lines("code,n\r\n1,2\r\n\r\n3,4\r\n"), [2, 4]);
        assert_eq!(lines("code,n\r\n\"1\r\nx\",2\r\n3,4\r\n"), [2, 4]);
        let d = Delimited::new(p, "code,n\r\n1,2\r\n3\r\n", "code").unwrap();
        assert_eq!(read(&d, false).1.unwrap(), "t.csv:3: expected 2 fields separated by ',', found 1");
        // What the reader does otherwise: quoted fields, a lone carriage return, empty lines
        // (skipped, counted in the next record's line). Read by the csv reader.
        for (text, records) in [
            ("code,nom,n\n01001,\"A, B\",3\n", 1),
            ("code,nom,n\n01001,A,3\r01002,B,4\n", 2),
            ("code,nom,n\n\n01001,A,3\n", 1),
            ("code,nom,n\n01001,A,3\n\n01002,B,4\n", 2),
            ("code,nom,n\r\n01001,A,3\r\n\r\n01002,B,4\r\n", 2),
        ] {
            let d = Delimited::new(p, text, "code").unwrap();
            assert!(!d.is_plain(), "{text:?}");
            let mut n = 0;
            d.for_each_record(|_, r| {
                n += 1;
                assert_eq!(r.len(), 3);
                Ok(())
            })
            .unwrap();
            assert_eq!(n, records, "{text:?}");
        }
    }

    /// A sheet laid out as the publishers do (title rows, a gap, the header lower down), not
    /// starting at column A, with shared strings, numbers, booleans, an empty row and ragged rows.
    fn workbook() -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("Data").unwrap();
        ws.write_string(0, 1, "Titre du tableau (données de test)").unwrap();
        ws.write_string(2, 4, "Unité : nombre").unwrap();
        for (j, h) in ["codgeo", "libgeo", "an", "valeur", "ok"].iter().enumerate() {
            ws.write_string(4, 1 + j as u16, *h).unwrap();
        }
        let rows: [(&str, &str, f64, Option<f64>, bool); 3] = [
            ("28001", "Alpha", 2020.0, Some(1.5), true),
            ("28002", "Bêta & Cie", 2020.0, None, false),
            ("2A004", "Gamma", 2021.0, Some(-0.125), true),
        ];
        for (i, r) in rows.iter().enumerate() {
            // Row 7 is left empty.
            let row = if i == 0 { 5 } else { 6 + i as u32 };
            ws.write_string(row, 1, r.0).unwrap();
            ws.write_string(row, 2, r.1).unwrap();
            ws.write_number(row, 3, r.2).unwrap();
            if let Some(v) = r.3 {
                ws.write_number(row, 4, v).unwrap();
            }
            ws.write_boolean(row, 5, r.4).unwrap();
        }
        wb.add_worksheet().set_name("Notes").unwrap().write_string(3, 0, "Source : test").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn streamed_xlsx_rows_equal_calamines_used_range() {
        let (p, book) = (Path::new("book.xlsx"), workbook());
        let open = || calamine::open_workbook_auto_from_rs(std::io::Cursor::new(book.clone())).unwrap();
        for sheet in ["Data", "Notes"] {
            let streamed = sheet_rows(&mut open(), p, sheet).unwrap();
            assert_eq!(streamed, range_rows(&mut open(), p, sheet).unwrap(), "{sheet}");
        }
        let rows = sheet_rows(&mut open(), p, "Data").unwrap();
        assert_eq!((rows[0].line, rows.len()), (1, 9));
        let rows = texts(&rows);
        assert_eq!(rows[0], ["Titre du tableau (données de test)", "", "", "", ""]);
        assert_eq!(rows[5], ["28001", "Alpha", "2020", "1.5", "true"]);
        assert_eq!(rows[6], ["", "", "", "", ""]);
        assert_eq!(rows[7], ["28002", "Bêta & Cie", "2020", "", "false"]);
        assert_eq!(rows[8], ["2A004", "Gamma", "2021", "-0.125", "true"]);

        let t = read_xlsx_bytes(p, book, "Data", "codgeo", &["codgeo", "valeur"]).unwrap();
        assert_eq!((t.header_line, t.headers[3].as_str()), (5, "valeur"));
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [6, 8, 9], "row numbers are the spreadsheet's, the empty row skipped");
    }

    /// Each row's cells.
    fn texts(rows: &[RawRow]) -> Vec<Vec<&str>> {
        rows.iter().map(|r| r.cells().collect()).collect()
    }

    /// Every cell of a sheet through calamine, as the table reader had them before `xlsx::Book`.
    fn calamine_rows(book: &[u8], sheet: &str) -> Vec<RawRow> {
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(book)).unwrap();
        sheet_rows(&mut wb, Path::new("book.xlsx"), sheet).unwrap()
    }

    #[test]
    fn published_workbooks_read_directly_as_calamine_reads_them() {
        let dir = std::env::var_os(super::super::DATA_DIR_ENV)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(super::super::DEFAULT_DATA_DIR));
        let books = [
            ("health/drees_apl_medecins_generalistes_2022_2023.xlsx", &["APL 2022", "APL 2023"][..]),
            ("health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx", &["Data"][..]),
        ];
        let mut read = 0;
        for (file, sheets) in books {
            let Ok(bytes) = std::fs::read(dir.join(file)) else { continue };
            let mut book =
                super::super::xlsx::Book::open(std::io::Cursor::new(&bytes[..])).expect("the publisher's layout");
            for sheet in sheets {
                let cells = book.cells(sheet).unwrap_or_else(|| panic!("{file} \"{sheet}\" read directly"));
                let direct = cell_rows(cells);
                assert!(direct.len() > 30_000, "{file} {sheet}: {} rows", direct.len());
                assert_eq!(direct, calamine_rows(&bytes, sheet), "{file} {sheet}");
                read += 1;
            }
        }
        if read == 0 {
            eprintln!(
                "published_workbooks_read_directly_as_calamine_reads_them: no published workbook in {}, skipped",
                dir.display()
            );
        }
    }

    /// A workbook written by another writer (rust_xlsxwriter, as Excel lays it out): shared and rich
    /// strings with entities and spaces, numbers of every shape, booleans, formulas with their cached
    /// results, cells far apart.
    fn varied_workbook() -> Vec<u8> {
        use rust_xlsxwriter::{Format, Formula, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet().set_name("Valeurs 2023").unwrap();
        let texts = [
            "L'Abergement & <Cie>",
            "  espaces autour  ",
            "\"guillemets\"",
            "ligne\nsuivante",
            "Saint-Étienne",
            "2A004",
        ];
        for (i, t) in texts.iter().enumerate() {
            ws.write_string(i as u32, 0, *t).unwrap();
        }
        let numbers = [
            0.0,
            -0.0,
            1.0,
            806.0,
            1.828,
            2.649,
            -0.125,
            1e-7,
            123_456_789_012_345.0,
            1.234_567_890_123_456_7e19,
            0.1 + 0.2,
            14_002.685,
        ];
        for (i, x) in numbers.iter().enumerate() {
            ws.write_number(i as u32, 1, *x).unwrap();
        }
        ws.write_boolean(0, 2, true).unwrap();
        ws.write_boolean(1, 2, false).unwrap();
        ws.write_formula(2, 2, Formula::new("=B4*2").set_result("1612")).unwrap();
        ws.write_formula(3, 2, Formula::new("=A1").set_result("L'Abergement")).unwrap();
        let bold = Format::new().set_bold();
        ws.write_rich_string(4, 2, &[(&bold, "Millésime"), (&Format::default(), " : 2023")]).unwrap();
        ws.write_string(999, 700, "loin").unwrap();
        wb.add_worksheet().set_name("Vide").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn workbooks_read_directly_as_calamine_reads_them() {
        let (book, sheets) = (varied_workbook(), ["Valeurs 2023", "Vide"]);
        let mut direct = super::super::xlsx::Book::open(std::io::Cursor::new(&book[..])).expect("a plain workbook");
        for sheet in sheets {
            let cells = direct.cells(sheet).unwrap_or_else(|| panic!("\"{sheet}\" read directly"));
            assert_eq!(cell_rows(cells), calamine_rows(&book, sheet), "{sheet}");
        }
        let read = cell_rows(direct.cells("Valeurs 2023").unwrap());
        let rows = texts(&read);
        assert_eq!(rows.len(), 1000);
        assert_eq!(rows[0][..3], ["L'Abergement & <Cie>", "0", "true"]);
        assert_eq!(rows[1][..2], ["  espaces autour  ", "-0"]);
        assert_eq!(rows[4][1..3], ["1.828", "Millésime : 2023"]);
        assert_eq!(rows[9][1], "12345678901234567000");
        assert_eq!(rows[10][1], "0.30000000000000004");
        assert_eq!(rows[999][700], "loin");
        assert!(direct.cells("Absente").is_none(), "a missing sheet is calamine's to report");
    }

    /// A workbook of one sheet "Data" with the given `<sheetData>` content and shared strings.
    fn hand_workbook(sheet_data: &str, shared: &[&str]) -> Vec<u8> {
        use std::io::Write;
        let mut z = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
        let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let parts = [
            ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_string()),
            ("_rels/.rels", format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)),
            ("xl/workbook.xml", format!(r#"<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
            ("xl/_rels/workbook.xml.rels", format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="/xl/worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#)),
            ("xl/worksheets/sheet1.xml", format!(r#"<?xml version="1.0"?><worksheet {ns}><dimension ref="A1:D9"/><sheetData>{sheet_data}</sheetData></worksheet>"#)),
            ("xl/sharedStrings.xml", format!(r#"<?xml version="1.0"?><sst {ns} count="{0}" uniqueCount="{0}">{1}</sst>"#, shared.len(), shared.concat())),
        ];
        for (name, text) in parts {
            z.start_file(name, ::zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn hand_written_sheets_read_directly_as_calamine_reads_them() {
        // The ANCT's layout (inline strings, styled empty cells, verbose rows), Excel's (shared
        // strings, rich and phonetic runs, CRLF), formula strings, empty values of every kind.
        let shared = [
            "<si><t>codgeo</t></si>",
            "<si><r><rPr><b/><sz val=\"11\"/></rPr><t>Mill&#233;sime</t></r><r><t xml:space=\"preserve\"> : 2023 </t></r></si>",
            "<si><t>ligne\r\nsuivante\rfin</t><rPh sb=\"0\" eb=\"1\"><t>PHON</t></rPh><phoneticPr fontId=\"1\"/></si>",
            "<si/>",
            "<si><t>  tab\t </t></si>",
        ];
        let data = concat!(
            r#"<row collapsed="" customFormat="true" ht="12.1" r="1"><c r="A1" s="2" t="inlineStr"><is><t>Observatoire &amp; ANCT</t></is></c><c r="B1" s="2"/><c r="C1" s="2"></c></row>"#,
            r#"<row r="2" spans="1:4"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c><c r="C2" t="s"><v>2</v></c><c r="D2" t="s"><v>3</v></c></row>"#,
            "<row r=\"3\">\n  <c r=\"A3\" t=\"s\"><v>4</v></c>\n  <c r=\"B3\"><v>1.8280000000000001</v></c>\n  <c r=\"C3\" t=\"n\"><v>-7</v></c><c r=\"D3\"><v/></c></row>",
            r#"<row r="4"/><row r="5"><c r="A5" t="str"><f>A1&amp;"!"</f><v>Observatoire &amp; ANCT!</v></c><c r="B5"><f t="shared" ref="B5:B6" si="0">B3*2</f><v>3.6560000000000001</v></c><c r="C5" t="str"><f>""</f><v></v></c><c r="D5" t="inlineStr"><is/></c></row>"#,
            r#"<row r="6"><c r="B6"><f t="shared" si="0"/><v>7E-3</v></c><c r="C6" t="b"><v>1</v></c><c r="D6" t="inlineStr"><v>ignored</v><is><t xml:space='preserve'> a </t><t>b</t></is></c></row>"#,
            r#"<row r="9"><c r="d9" s="6"><v>0012.50</v></c><c r="A9" t="s"><v></v></c></row>"#,
        );
        let book = hand_workbook(data, &shared);
        let cells = super::super::xlsx::Book::open(std::io::Cursor::new(&book[..]))
            .unwrap()
            .cells("Data")
            .expect("read directly");
        let read = cell_rows(cells);
        assert_eq!(read, calamine_rows(&book, "Data"));
        let rows = texts(&read);
        assert_eq!(rows[1], ["codgeo", "Millésime : 2023 ", "ligne\nsuivante\nfin", ""]);
        assert_eq!(rows[2], ["tab", "1.828", "-7", ""]);
        assert_eq!(rows[4], ["Observatoire & ANCT!", "3.656", "", ""]);
        assert_eq!(rows[5], ["", "0.007", "true", " a b"]);
        assert_eq!(rows[8], ["", "", "", "12.5"]);
    }

    #[test]
    fn what_the_direct_reader_does_not_know_is_left_to_calamine() {
        for (why, data) in [
            ("Excel's escapes", r#"<row r="1"><c r="A1" t="inlineStr"><is><t>a_x000D_b</t></is></c></row>"#),
            ("an error cell", r#"<row r="1"><c r="A1" t="e"><v>#DIV/0!</v></c></row>"#),
            ("a date cell", r#"<row r="1"><c r="A1" t="d"><v>2023-01-01T00:00:00</v></c></row>"#),
            ("a cell without its reference", r#"<row r="1"><c><v>1</v></c></row>"#),
            ("a namespace prefix", r#"<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>"#),
            ("a text in a number cell", r#"<row r="1"><c r="A1"><v>n/a</v></c></row>"#),
            ("a comment", r#"<row r="1"><!-- note --><c r="A1"><v>1</v></c></row>"#),
        ] {
            let book = hand_workbook(&format!("{data}<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>codgeo</t></is></c></row><row r=\"3\"><c r=\"A3\"><v>1</v></c></row>"), &[]);
            assert!(
                super::super::xlsx::Book::open(std::io::Cursor::new(&book[..])).unwrap().cells("Data").is_none(),
                "{why}"
            );
            // The table is still read, by calamine, or refused with calamine's account.
            let read = read_xlsx_bytes(Path::new("b.xlsx"), book.clone(), "Data", "codgeo", &["codgeo"]);
            let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(&book[..])).unwrap();
            let by_calamine = sheet_table(&mut wb, Path::new("b.xlsx"), "Data", "codgeo", &["codgeo"]);
            match (read, by_calamine) {
                (Ok(a), Ok(b)) => assert_eq!(a.rows, b.rows, "{why}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{why}"),
                (a, b) => panic!("{why}: {:?} against {:?}", a.map(|t| t.rows.len()), b.map(|t| t.rows.len())),
            }
        }
        // A member whose bytes do not match its CRC is not read directly.
        let mut book = hand_workbook(r#"<row r="1"><c r="A1"><v>1</v></c></row>"#, &[]);
        let directory = book.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        let name = directory + book[directory..].windows(24).position(|w| w == b"xl/worksheets/sheet1.xml").unwrap();
        // In the central directory, an entry's CRC-32 is 30 bytes before its name.
        book[name - 30] ^= 0xff;
        assert!(super::super::xlsx::Book::open(std::io::Cursor::new(&book[..])).unwrap().cells("Data").is_none());
    }

    #[test]
    fn sheets_longer_than_a_chunk_are_read_row_by_row_across_chunks() {
        // ~3 MB of XML: rows cut at every chunk boundary, texts and numbers of varying length.
        let mut data = String::new();
        for r in 1..=40_000u32 {
            data.push_str(&format!(
                r#"<row r="{r}" spans="1:3"><c r="A{r}" t="inlineStr"><is><t>{:05}{}</t></is></c><c r="B{r}"><v>{}</v></c><c r="C{r}" t="s"><v>{}</v></c></row>"#,
                r * 7 % 99_999,
                "é".repeat((r % 13) as usize),
                f64::from(r) / 7.0,
                r % 2
            ));
        }
        let book = hand_workbook(&data, &["<si><t>oui</t></si>", "<si><t>non</t></si>"]);
        let cells = super::super::xlsx::Book::open(std::io::Cursor::new(&book[..]))
            .unwrap()
            .cells("Data")
            .expect("read directly");
        let rows = cell_rows(cells);
        assert_eq!(rows.len(), 40_000);
        let last = "80002".to_string() + &"é".repeat(12);
        assert_eq!(texts(&rows)[39_999], [last.as_str(), "5714.285714285715", "oui"]);
        assert_eq!(rows, calamine_rows(&book, "Data"));
    }
}
