//! The layering rule of this crate, as a test: `crate::` paths point only down the
//! layers listed in the crate documentation, no area file imports another, and the
//! module graph has no cycle. Reads the sources as text (comments and test modules
//! stripped), so it also catches fully qualified paths, not just `use` lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer of a top-level module; `None` for the crate root.
fn rank(top: &str) -> Option<u8> {
    Some(match top {
        "outcome" | "env" | "mountinfo" | "ns" | "environment" | "kernellog" | "kmod" => 0,
        "probe" => 1,
        "kit" => 2,
        "host" | "hostchange" | "harness" | "observation" | "contain" | "cleanup" => 3,
        "spec" => 4,
        "properties" => 5,
        "catalogue" => 6,
        "run" => 7,
        "subject" | "rubric" | "report" | "formats" | "diff" | "grade" | "docs" | "checkconfig" => {
            8
        }
        "layers" => 9,
        _ => return None,
    })
}

/// Module path of a source file (`properties/pid.rs` → `properties::pid`).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The source without comments and without its `#[cfg(test)] mod tests { .. }` blocks
/// (tests may use anything), wherever in the file they are.
fn code_of(src: &str) -> String {
    let code: String = src
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        let head = &after[..open];
        if !head.contains("mod ") {
            // A cfg(test) item that is not a module: keep it.
            out.push_str(&after[..open]);
            rest = &after[open..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The modules a source refers to: `crate::a::b` paths, `use crate::{a, b::c}` groups,
/// and `super::x` inside `properties/`. Returned as (top, second) pairs.
fn references(module: &str, code: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut add = |path: &str| {
        let mut segs = path.split("::").map(ident);
        let top = segs.next().unwrap_or_default();
        let second = segs.next().unwrap_or_default();
        if !top.is_empty() && top.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert((top, second));
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                add(item.trim());
            }
        } else {
            add(rest);
        }
    }
    if let Some(parent) = module.strip_prefix("properties::") {
        let _ = parent;
        for (i, _) in code.match_indices("super::") {
            let name = ident(&code[i + 7..]);
            if !name.is_empty() {
                add(&format!("properties::{name}"));
            }
        }
    }
    out
}

/// Every violation of the layering rule in the crate's `src/`.
pub(crate) fn violations(src_dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![src_dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read src").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut bad = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src_dir).expect("under src");
        let module = module_of(rel);
        if module.is_empty() || module == "layers" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).expect("read source"));
        let top = module.split("::").next().unwrap_or_default().to_string();
        let Some(from) = rank(&top) else {
            bad.push(format!(
                "{module}: not in any layer (add it to layers::rank)"
            ));
            continue;
        };
        let from_area = module.strip_prefix("properties::");
        for (t, second) in references(&module, &code) {
            let Some(to) = rank(&t) else { continue };
            let node = if t == "properties" && !second.is_empty() {
                format!("properties::{second}")
            } else {
                t.clone()
            };
            if node != module && !module.starts_with(&format!("{node}::")) {
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(node.clone());
            }
            if t == top && t != "properties" {
                continue; // within one module tree
            }
            if to > from {
                bad.push(format!("{module} imports {node}, a higher layer"));
            }
            if let Some(a) = from_area {
                if t == "properties" && second != a {
                    bad.push(format!("{module} imports {node}: area files never import each other; move the helper to the kit"));
                }
            }
        }
    }
    // Cycles: depth-first search over the file graph.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
        bad: &mut Vec<String>,
    ) {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                0 => visit(m, g, state, path, bad),
                1 => {
                    let start = path.iter().position(|p| p == m).unwrap_or(0);
                    bad.push(format!(
                        "import cycle: {} -> {m}",
                        path[start..].join(" -> ")
                    ));
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    let nodes: Vec<String> = graph.keys().cloned().collect();
    for n in nodes {
        if state.get(&n).copied().unwrap_or(0) == 0 {
            visit(&n, &graph, &mut state, &mut Vec::new(), &mut bad);
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_layers_point_down_and_areas_stay_apart() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let bad = violations(&src);
        assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
    }

    #[test]
    fn the_checker_sees_up_and_sideways_edges() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        std::fs::create_dir_all(src.join("properties")).unwrap();
        std::fs::write(src.join("ns.rs"), "use crate::run::x;\n").unwrap();
        std::fs::write(src.join("run.rs"), "use crate::ns;\n").unwrap();
        std::fs::write(
            src.join("properties/pid.rs"),
            "use super::user::helper;\nuse crate::kit::Fork; // crate::catalogue in a comment\n",
        )
        .unwrap();
        std::fs::write(
            src.join("properties/user.rs"),
            "fn helper() {}\n#[cfg(test)]\nmod tests {\n    use crate::run::x;\n}\nuse super::net::y;\n",
        )
        .unwrap();
        std::fs::write(src.join("properties/net.rs"), "fn y() {}\n").unwrap();
        let bad = violations(src);
        assert!(bad.iter().any(|b| b.contains("ns imports run")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("import cycle")), "{bad:?}");
        assert!(
            bad.iter()
                .any(|b| b.contains("properties::pid imports properties::user")),
            "{bad:?}"
        );
        assert!(!bad.iter().any(|b| b.contains("catalogue")), "{bad:?}");
        // A test module in the middle of a file hides neither what follows it...
        assert!(
            bad.iter()
                .any(|b| b.contains("properties::user imports properties::net")),
            "{bad:?}"
        );
        // ...nor is its own content held against the file.
        assert!(
            !bad.iter()
                .any(|b| b.contains("properties::user imports run")),
            "{bad:?}"
        );
    }
}
