//! A small parser for `/proc/<pid>/mountinfo` (proc(5)), shared by the probe (inside view)
//! and the harness (host view).

use serde::{Deserialize, Serialize};

/// One mountinfo line, reduced to what checks compare.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    pub root: String,
    pub mount_point: String,
    pub options: String,
    /// Optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub propagation: Vec<String>,
    pub fs_type: String,
    pub source: String,
}

/// Parse mountinfo text; lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let mount_id = l.next()?.parse().ok()?;
    let parent_id = l.next()?.parse().ok()?;
    let _majmin = l.next()?;
    let root = unescape(l.next()?);
    let mount_point = unescape(l.next()?);
    let options = l.next()?.to_string();
    let propagation = l.filter(|s| !s.is_empty()).map(str::to_string).collect();
    let mut r = right.split(' ');
    let fs_type = r.next()?.to_string();
    let source = unescape(r.next().unwrap_or(""));
    Some(MountEntry {
        mount_id,
        parent_id,
        root,
        mount_point,
        options,
        propagation,
        fs_type,
        source,
    })
}

/// Undo the octal escapes (`\040` for space) the kernel uses in mountinfo. Three octal
/// digits above `\377` are no byte (the kernel never writes them): they stay as they are.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = (b[i] == b'\\' && i + 3 < b.len())
            .then(|| &b[i + 1..i + 4])
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                u8::try_from(v).ok()
            });
        if let Some(v) = byte {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Read and parse a mountinfo file.
pub fn read(path: &str) -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_optional_fields_and_escapes() {
        let text = "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n\
                    22 27 0:21 / /proc rw,relatime - proc proc rw\n";
        let m = parse(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, "/mnt x");
        assert_eq!(m[0].propagation, vec!["master:1", "shared:2"]);
        assert_eq!(m[0].fs_type, "ext3");
        assert_eq!(m[0].source, "/dev/root");
        assert!(m[1].propagation.is_empty());
    }

    #[test]
    fn octal_escapes_above_a_byte_stay_literal() {
        // `\400` is 256: no byte; it used to overflow (a panic in debug builds).
        let m = parse("1 0 0:1 / /a\\400b\\377\\134 rw - ext4 /dev/x rw\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, "/a\\400b\u{fffd}\\");
    }
}
