//! A minimal xlsx writer (inline strings only) for tests that must lay real rows out in a
//! publisher's workbook layout at run time; calamine reads it like any workbook.

use std::io::Write;

fn column(mut i: usize) -> String {
    let mut s = String::new();
    i += 1;
    while i > 0 {
        let r = (i - 1) % 26;
        s.insert(0, (b'A' + r as u8) as char);
        i = (i - 1) / 26;
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The bytes of a workbook with the given sheets (name, rows of text cells; empty cells omitted).
pub fn workbook(sheets: &[(&str, Vec<Vec<String>>)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default();
    let put = |z: &mut zip::ZipWriter<_>, name: &str, text: &str| {
        z.start_file(name, opts).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    };
    let head = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    let overrides: String = (1..=sheets.len())
        .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
        .collect();
    put(
        &mut z,
        "[Content_Types].xml",
        &format!(
            r#"{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
        ),
    );
    put(
        &mut z,
        "_rels/.rels",
        &format!(
            r#"{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    let list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!(r#"<sheet name="{}" sheetId="{}" r:id="rId{}"/>"#, esc(n), i + 1, i + 1))
        .collect();
    put(
        &mut z,
        "xl/workbook.xml",
        &format!(
            r#"{head}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{list}</sheets></workbook>"#
        ),
    );
    let rels: String = (1..=sheets.len())
        .map(|i| format!(r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#))
        .collect();
    put(
        &mut z,
        "xl/_rels/workbook.xml.rels",
        &format!(
            r#"{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
        ),
    );
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let mut x = format!(
            r#"{head}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
        );
        for (r, row) in rows.iter().enumerate() {
            x.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    x.push_str(&format!(
                        r#"<c r="{}{}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        column(c),
                        r + 1,
                        esc(v)
                    ));
                }
            }
            x.push_str("</row>");
        }
        x.push_str("</sheetData></worksheet>");
        put(&mut z, &format!("xl/worksheets/sheet{}.xml", i + 1), &x);
    }
    z.finish().unwrap();

    buf.into_inner()
}

/// A zip archive holding one member.
pub fn zip_one(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    z.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
    z.write_all(bytes).unwrap();
    z.finish().unwrap();

    buf.into_inner()
}
