//! The compiler's `-m=2` text to findings: `build_findings` of `findings/parser.py`, rule for
//! rule (that file's docstrings say why each rule is there). Lines and columns stay as the
//! Python model has them (0-based, from the compiler's 1-based ones; a line 0 gives -1).
//! Digits are ASCII digits: the compiler prints no others.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

use crate::syntax::py_space;

/// A point: 0-based line and byte column (`parser._point`).
pub type Point = (i64, i64);

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Step {
    pub file: String,
    pub at: Point,
    pub subject: String,
    pub reason: String,
    pub edge: String,
}

pub struct Verdict {
    pub kind: &'static str,
    pub file: String,
    pub at: Point,
    pub message: String,
    pub subject: String,
    pub function: Option<String>,
    /// Indexes into the steps `build` returns.
    pub flow: Vec<usize>,
    pub cost: Option<i64>,
    pub leak_to: Option<String>,
    pub detail: Vec<(String, String)>,
}

struct Explanation {
    file: String,
    at: Point,
    subject: String,
    function: Option<String>,
    is_leak: bool,
    steps: Vec<usize>,
    to: String,
    derefs: i64,
}

/// The text with its CRLF line ends as LF (`parser._lf_only`).
fn lf_only(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

fn point(line: i64, col: i64) -> Point {
    (line - 1, if col > 0 { col - 1 } else { 0 })
}

fn digits(s: &str) -> Option<i64> {
    all_digits(s).then(|| s.parse().ok()).flatten()
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

struct Patterns {
    line: Regex,
    leak_header: Regex,
    verdicts: Vec<(&'static str, Regex)>,
}

/// `\S` and `\s` as Python's `re` has them (`str.isspace()`: Unicode's White_Space and
/// U+001C–U+001F).
const NS: &str = r"[^\s\x1c-\x1f]";

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(&p.replace(r"\S", NS)).unwrap();
        let capture = |by: &str| {
            re(&format!(r"^(?P<fn>.+) capturing by {by}: (?P<subject>\S+) \((?P<detail>[^)]*)\)$"))
        };
        Patterns {
            line: re(r"^(?P<file>.+?):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<text>.*)$"),
            leak_header: re(
                r"^parameter (?P<subject>\S+) leaks to (?P<to>\{.*\}|\S+)(?: for (?P<fn>.+))? with derefs=(?P<d>-?\d+):$",
            ),
            verdicts: vec![
                ("moved-to-heap", re(r"^moved to heap: (?P<subject>\S+)$")),
                ("leaking-param-content", re(r"^leaking param content: (?P<subject>\S+)$")),
                (
                    "leaking-param",
                    re(r"^leaking param: (?P<subject>\S+)(?: to result (?P<to>\S+) level=(?P<n>\d+))?$"),
                ),
                ("escapes-to-heap", re(r"^(?P<subject>.+) escapes to heap$")),
                ("does-not-escape", re(r"^(?P<subject>.+) does not escape$")),
                ("capture-by-ref", capture("ref")),
                ("capture-by-value", capture("value")),
                ("can-inline", re(r"^can inline (?P<subject>.+?) with cost (?P<n>\d+)(?: as: .*)?$")),
                ("cannot-inline", re(r"^cannot inline (?P<subject>.+?): (?P<reason>.*)$")),
                ("inlined-call", re(r"^inlining call to (?P<subject>.+?)(?: with score -?\d+)?$")),
                (
                    "inlining-note",
                    re(r"^(?:function (?P<subject>.+) considered 'big'; reducing max cost of inlinees|skip inlining within testing\.B\.loop for (?P<loop>.+))$"),
                ),
                (
                    "devirtualized",
                    re(r"^(?:PGO )?(?:partially )?devirtualizing (?P<subject>.+?) to (?P<to>.+)$"),
                ),
                ("self-assignment", re(r"^(?P<fn>.+?) ignoring self-assignment in (?P<subject>.+)$")),
                ("bounds-check-elided", re(r"^index bounds check elided$")),
                ("zero-copy-conversion", re(r"^zero-copy string->\[\]byte conversion$")),
                ("kept-alive", re(r"^(?P<subject>.+) will be kept alive$")),
                (
                    "debug-note",
                    re(r"^(?:(?:mutates|calls) param: (?P<subject>\S+) derefs=-?\d+|(?P<quiet>\S+) does not escape, mutate, or call|convert: .*|rewriting OCONVIFACE value .*|alias analysis: .*|closure converted to global|slice: omit slice operation)$"),
                ),
            ],
        }
    })
}

const PREFIXES: [(&str, &str); 8] = [
    ("moved to heap: ", "moved-to-heap"),
    ("leaking param content: ", "leaking-param-content"),
    ("leaking param: ", "leaking-param"),
    ("can inline ", "can-inline"),
    ("cannot inline ", "cannot-inline"),
    ("inlining call to ", "inlined-call"),
    ("index bounds check elided", "bounds-check-elided"),
    ("zero-copy ", "zero-copy-conversion"),
];

/// `parser._candidates`: the kinds whose pattern a verdict's text may match, in order.
fn candidates(text: &str) -> Vec<&'static str> {
    if text.ends_with(" escapes to heap") {
        return vec!["escapes-to-heap"];
    }
    if text.ends_with(" does not escape") {
        return vec!["does-not-escape"];
    }
    for (prefix, kind) in PREFIXES {
        if text.starts_with(prefix) {
            return vec![kind];
        }
    }
    if text.contains(" capturing by ") {
        return vec!["capture-by-ref", "capture-by-value"];
    }
    if text.contains(" ignoring self-assignment in ") {
        return vec!["self-assignment"];
    }
    if text.ends_with(" will be kept alive") {
        return vec!["kept-alive"];
    }
    patterns().verdicts.iter().map(|(k, _)| *k).collect()
}

fn check_report(text: &str) -> Option<&'static str> {
    match text {
        "Found IsInBounds" | "Found IsSliceInBounds" => Some("bounds-check"),
        "generated nil check" => Some("nil-check"),
        "removed nil check" => Some("nil-check-removed"),
        _ => None,
    }
}

fn verdict(file: &str, line: i64, col: i64, text: &str) -> Verdict {
    let plain = |kind: &'static str, subject: &str| Verdict {
        subject: subject.to_string(),
        ..verdict_plain(kind, file, line, col, text)
    };
    if let Some(kind) = check_report(text) {
        return plain(kind, text);
    }
    let p = patterns();
    for kind in candidates(text) {
        let pattern = &p.verdicts.iter().find(|(k, _)| *k == kind).unwrap().1;
        let Some(m) = matched(kind, pattern, text) else {
            continue;
        };
        let mut detail = Vec::new();
        if let Some(d) = m.detail.filter(|d| !d.is_empty()) {
            for item in d.split(py_space).filter(|w| !w.is_empty()) {
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                set(&mut detail, key, value);
            }
        }
        if let Some(r) = m.reason.filter(|r| !r.is_empty()) {
            set(&mut detail, "reason", r);
        }
        let mut leak_to = m.to.map(str::to_string);
        if (kind == "leaking-param" && leak_to.is_none()) || kind == "leaking-param-content" {
            leak_to = Some("{heap}".to_string());
        }
        let subject = [m.subject, m.quiet, m.looped]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .unwrap_or("");
        let function_first = matches!(
            kind,
            "capture-by-ref" | "capture-by-value" | "self-assignment"
        );
        let mut v = plain(kind, subject);
        v.function = if function_first {
            m.function.map(str::to_string)
        } else {
            None
        };
        v.cost = m.n.filter(|n| !n.is_empty()).and_then(|n| n.parse().ok());
        v.leak_to = leak_to;
        v.detail = detail;
        return v;
    }
    plain("other", text)
}

/// The named groups of a verdict's or header's pattern.
#[derive(Default)]
struct Groups<'a> {
    subject: Option<&'a str>,
    function: Option<&'a str>,
    to: Option<&'a str>,
    n: Option<&'a str>,
    d: Option<&'a str>,
    detail: Option<&'a str>,
    reason: Option<&'a str>,
    quiet: Option<&'a str>,
    looped: Option<&'a str>,
}

impl<'a> Groups<'a> {
    fn of(m: &Captures<'a>) -> Self {
        let g = |name: &str| m.name(name).map(|g| g.as_str());
        Groups {
            subject: g("subject"),
            function: g("fn"),
            to: g("to"),
            n: g("n"),
            d: g("d"),
            detail: g("detail"),
            reason: g("reason"),
            quiet: g("quiet"),
            looped: g("loop"),
        }
    }
}

/// `kind`'s pattern on `text`: the frequent shapes of an ASCII line by hand (a regex's
/// captures cost microseconds each; the same answers: `tests/test_native.py`), else the
/// pattern.
fn matched<'a>(kind: &str, pattern: &Regex, text: &'a str) -> Option<Groups<'a>> {
    if text.is_ascii() {
        if let Some(found) = by_hand(kind, text) {
            return found;
        }
    }
    pattern.captures(text).map(|m| Groups::of(&m))
}

/// Python's `\s` on ASCII: `str.isspace()`.
fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// The longest run of `\S` at the start of `s` (ASCII).
fn non_space(s: &str) -> &str {
    &s[..s.bytes().position(ascii_space).unwrap_or(s.len())]
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The hand-written matchers (ASCII text); None: this kind has none.
fn by_hand<'a>(kind: &str, text: &'a str) -> Option<Option<Groups<'a>>> {
    Some(match kind {
        "leaking-param-content" => text
            .strip_prefix("leaking param content: ")
            .filter(|r| !r.is_empty() && non_space(r).len() == r.len())
            .map(|r| Groups {
                subject: Some(r),
                ..Groups::default()
            }),
        "leaking-param" => text.strip_prefix("leaking param: ").and_then(leaking_param),
        "can-inline" => text.strip_prefix("can inline ").and_then(can_inline),
        "cannot-inline" => text.strip_prefix("cannot inline ").and_then(|r| {
            // `(?P<subject>.+?): (?P<reason>.*)`: the first `: ` after one character
            let i = r.get(1..)?.find(": ")? + 1;
            Some(Groups {
                subject: Some(&r[..i]),
                reason: Some(&r[i + 2..]),
                ..Groups::default()
            })
        }),
        "capture-by-ref" => capture(text, " capturing by ref: "),
        "capture-by-value" => capture(text, " capturing by value: "),
        _ => return None,
    })
}

/// `(?P<subject>\S+)(?: to result (?P<to>\S+) level=(?P<n>\d+))?$`
fn leaking_param(r: &str) -> Option<Groups<'_>> {
    let subject = non_space(r);
    if subject.is_empty() {
        return None;
    }
    let rest = &r[subject.len()..];
    if rest.is_empty() {
        return Some(Groups {
            subject: Some(subject),
            ..Groups::default()
        });
    }
    let rest = rest.strip_prefix(" to result ")?;
    let to = non_space(rest);
    let n = rest[to.len()..].strip_prefix(" level=")?;
    (!to.is_empty() && all_digits(n)).then_some(Groups {
        subject: Some(subject),
        to: Some(to),
        n: Some(n),
        ..Groups::default()
    })
}

/// `(?P<subject>.+?) with cost (?P<n>\d+)(?: as: .*)?$`: the first ` with cost ` after one
/// character that digits and then the end or ` as: ` follow.
fn can_inline(r: &str) -> Option<Groups<'_>> {
    const MARK: &str = " with cost ";
    let mut from = 1;
    while let Some(found) = r.get(from..).and_then(|tail| tail.find(MARK)) {
        let i = from + found;
        let after = &r[i + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let rest = &after[digits..];
        if digits > 0 && (rest.is_empty() || rest.starts_with(" as: ")) {
            return Some(Groups {
                subject: Some(&r[..i]),
                n: Some(&after[..digits]),
                ..Groups::default()
            });
        }
        from = i + 1;
    }
    None
}

/// `(?P<fn>.+) capturing by …: (?P<subject>\S+) \((?P<detail>[^)]*)\)$`: the last mark after
/// one character that the rest fits.
fn capture<'a>(text: &'a str, mark: &str) -> Option<Groups<'a>> {
    let mut end = text.len();
    while let Some(i) = text[..end].rfind(mark) {
        if i == 0 {
            return None;
        }
        let after = &text[i + mark.len()..];
        let subject = non_space(after);
        let detail = after[subject.len()..]
            .strip_prefix(" (")
            .and_then(|d| d.strip_suffix(')'));
        if let Some(detail) = detail.filter(|d| !subject.is_empty() && !d.contains(')')) {
            return Some(Groups {
                function: Some(&text[..i]),
                subject: Some(subject),
                detail: Some(detail),
                ..Groups::default()
            });
        }
        end = i + mark.len() - 1;
    }
    None
}

/// `^parameter (?P<subject>\S+) leaks to (?P<to>\{.*\}|\S+)(?: for (?P<fn>.+))? with
/// derefs=(?P<d>-?\d+):$` on an ASCII header.
fn leak_header(body: &str) -> Option<Groups<'_>> {
    let r = body.strip_prefix("parameter ")?;
    let subject = non_space(r);
    if subject.is_empty() {
        return None;
    }
    let m = r[subject.len()..]
        .strip_prefix(" leaks to ")?
        .strip_suffix(':')?;
    // The end is fixed: only the last ` with derefs=` can have nothing but a number after it.
    let j = m.rfind(" with derefs=")?;
    let d = &m[j + " with derefs=".len()..];
    if !all_digits(d.strip_prefix('-').unwrap_or(d)) {
        return None;
    }
    let m = &m[..j];
    // After `to` ends at `k`: nothing, or ` for ` and at least one character.
    let split = |k: usize| -> Option<Option<&str>> {
        let rest = &m[k..];
        if let Some(function) = rest.strip_prefix(" for ").filter(|f| !f.is_empty()) {
            return Some(Some(function));
        }
        rest.is_empty().then_some(None)
    };
    if m.starts_with('{') {
        // `\{.*\}`, greedy: the last `}` after which the rest fits
        let mut end = m.len();
        while let Some(k) = m[..end].rfind('}') {
            if let Some(function) = split(k + 1) {
                return Some(Groups {
                    subject: Some(subject),
                    to: Some(&m[..=k]),
                    function,
                    d: Some(d),
                    ..Groups::default()
                });
            }
            end = k;
        }
    }
    let to = non_space(m);
    let function = split(to.len())?;
    (!to.is_empty()).then_some(Groups {
        subject: Some(subject),
        to: Some(to),
        function,
        d: Some(d),
        ..Groups::default()
    })
}

/// A dict's `d[key] = value`: a key given again keeps its first place.
fn set(detail: &mut Vec<(String, String)>, key: &str, value: &str) {
    match detail.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => detail.push((key.to_string(), value.to_string())),
    }
}

/// `file:line:col: text` -> its parts (`parser._split`).
fn split_line(raw: &str) -> Option<(&str, i64, i64, &str)> {
    let mut parts = raw.splitn(4, ':');
    let (a, b, c, d) = (parts.next(), parts.next(), parts.next(), parts.next());
    if let (Some(file), Some(line), Some(col), Some(body)) = (a, b, c, d) {
        if let (Some(' '), Some(l), Some(c)) = (body.chars().next(), digits(line), digits(col)) {
            return Some((file, l, c, &body[1..]));
        }
    }
    let m = patterns().line.captures(raw)?;
    let line = m.name("line")?.as_str().parse().ok()?;
    let col = m
        .name("col")
        .and_then(|c| c.as_str().parse().ok())
        .unwrap_or(0);
    Some((
        m.name("file")?.as_str(),
        line,
        col,
        m.name("text")?.as_str(),
    ))
}

/// `parser.split_by_file`: the lines of `text` grouped by the file each verdict or
/// explanation is about (`resolve(file)`; `<autogenerated>` and the like go), flow lines with
/// the explanation before them; groups in the order their files first come. These are the
/// line-by-line rules (`parser._split_lines`), which the Python split equals.
pub fn split(text: &str, resolve: &mut dyn FnMut(&str) -> String) -> Vec<(String, String)> {
    let text = lf_only(text);
    let mut resolved: HashMap<&str, usize> = HashMap::default();
    let mut paths: HashMap<String, usize> = HashMap::default();
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for raw in text.split('\n') {
        if raw.contains(":   ") {
            if let Some(g) = current {
                let chunk = &mut groups[g].1;
                chunk.push('\n');
                chunk.push_str(raw);
            }
            continue;
        }
        let Some((file, ..)) = split_line(raw) else {
            continue;
        };
        current = if file.starts_with('<') {
            None
        } else {
            let g = match resolved.get(file) {
                Some(&g) => g,
                None => {
                    let path = resolve(file);
                    let g = *paths.entry(path.clone()).or_insert_with(|| {
                        groups.push((path, String::new()));
                        groups.len() - 1
                    });
                    resolved.insert(file, g);
                    g
                }
            };
            let chunk = &mut groups[g].1;
            if !chunk.is_empty() {
                chunk.push('\n');
            }
            chunk.push_str(raw);
            Some(g)
        };
    }
    groups
}

/// The findings of the compiler's `text`, and the flow steps they index. `kept(file)` is the
/// resolved path of a file as printed, or "" for one not kept; `resolve(file)` its resolved
/// path (flow steps keep any).
pub fn build(
    text: &str,
    kept: &mut dyn FnMut(&str) -> String,
    resolve: &mut dyn FnMut(&str) -> String,
) -> (Vec<Verdict>, Vec<Step>) {
    let text = lf_only(text);
    let mut state = State {
        kept_cache: HashMap::default(),
        resolved: HashMap::default(),
        steps: Vec::new(),
        seen: HashMap::default(),
        edges: Vec::new(),
        edge_ids: HashMap::default(),
    };
    let mut blocks: Vec<Explanation> = Vec::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut current: Option<usize> = None;
    let mut edge = state.edge_id("");
    for raw in text.split('\n') {
        if let Some(indent) = raw.find(":   ") {
            if let Some(b) = current {
                let step_text = py_strip(&raw[indent + 1..]);
                if let Some(&step) = state.seen.get(&(step_text, edge)) {
                    blocks[b].steps.push(step);
                } else {
                    edge = state.flow_line(step_text, edge, &mut blocks[b], resolve);
                }
            }
            continue;
        }
        let Some((file, line, col, body)) = split_line(raw) else {
            continue;
        };
        current = None;
        let path = cached(&mut state.kept_cache, file, |f| {
            if f.starts_with('<') {
                String::new()
            } else {
                kept(f)
            }
        });
        if path.is_empty() {
            continue;
        }
        if body.ends_with(':') {
            if let Some(block) = header(body, &path, point(line, col)) {
                blocks.push(block);
                current = Some(blocks.len() - 1);
                edge = state.edge_id("");
                continue;
            }
        }
        verdicts.push(fast_verdict(&path, line, col, body));
    }
    let merged = merge(verdicts, &blocks, &state.steps);
    (merged, state.steps)
}

/// An explanation header (`S escapes to heap in F:`, `parameter p leaks to … with derefs=N:`).
fn header(body: &str, path: &str, at: Point) -> Option<Explanation> {
    let p = patterns();
    let mut block = Explanation {
        file: path.to_string(),
        at,
        subject: String::new(),
        function: None,
        is_leak: false,
        steps: Vec::new(),
        to: String::new(),
        derefs: 0,
    };
    if let Some((subject, function)) = escape_header(body) {
        block.subject = subject.to_string();
        block.function = function.map(str::to_string);
        return Some(block);
    }
    if !body.starts_with("parameter ") {
        return None;
    }
    let l = if body.is_ascii() {
        leak_header(body)?
    } else {
        Groups::of(&p.leak_header.captures(body)?)
    };
    block.subject = l.subject?.to_string();
    block.function = l.function.map(str::to_string);
    block.is_leak = true;
    block.to = l.to?.to_string();
    block.derefs = l.d?.parse().unwrap_or(0);
    Some(block)
}

/// `^(?P<subject>.+) escapes to heap(?: in (?P<fn>.+))?:$` without a regex: the subject is
/// greedy, so the last ` escapes to heap` after which the rest fits wins.
fn escape_header(body: &str) -> Option<(&str, Option<&str>)> {
    const MARK: &str = " escapes to heap";
    let mut end = body.len();
    while let Some(i) = body[..end].rfind(MARK) {
        let rest = &body[i + MARK.len()..];
        if i >= 1 {
            if rest == ":" {
                return Some((&body[..i], None));
            }
            if let Some(function) = rest.strip_prefix(" in ").and_then(|r| r.strip_suffix(':')) {
                if !function.is_empty() {
                    return Some((&body[..i], Some(function)));
                }
            }
        }
        if i == 0 {
            break;
        }
        end = i + MARK.len() - 1;
    }
    None
}

/// `compute(key)`, asked once per key.
fn cached(
    cache: &mut HashMap<String, String>,
    key: &str,
    compute: impl FnOnce(&str) -> String,
) -> String {
    if let Some(found) = cache.get(key) {
        return found.clone();
    }
    let found = compute(key);
    cache.insert(key.to_string(), found.clone());
    found
}

struct State<'a> {
    kept_cache: HashMap<String, String>,
    resolved: HashMap<String, String>,
    steps: Vec<Step>,
    /// A positioned step by its text and edge: the output repeats whole blocks.
    seen: HashMap<(&'a str, usize), usize>,
    edges: Vec<String>,
    edge_ids: HashMap<String, usize>,
}

impl<'a> State<'a> {
    fn edge_id(&mut self, edge: &str) -> usize {
        if let Some(&id) = self.edge_ids.get(edge) {
            return id;
        }
        self.edges.push(edge.to_string());
        self.edge_ids.insert(edge.to_string(), self.edges.len() - 1);
        self.edges.len() - 1
    }

    /// One flow line (`flow: dst ← src`, `from S (reason) at f.go:L:C`) of `block`; returns
    /// the current edge.
    fn flow_line(
        &mut self,
        text: &'a str,
        edge: usize,
        block: &mut Explanation,
        resolve: &mut dyn FnMut(&str) -> String,
    ) -> usize {
        if let Some(rest) = text.strip_prefix("flow: ") {
            let e = rest.trim_end_matches(':');
            if !e.contains(" ← ") {
                return self.edge_id(&e.replacen(" = ", " ← ", 1));
            }
            return self.edge_id(e);
        }
        if !text.starts_with("from ") {
            return edge;
        }
        let (head, pos) = match text.rfind(" at ") {
            Some(i) => (&text[..i], Some(&text[i + 4..])),
            None => (text, None),
        };
        let mut positioned = None;
        if let Some(pos) = pos {
            let mut where_ = pos.rsplitn(3, ':');
            if let (Some(col), Some(line), Some(file)) =
                (where_.next(), where_.next(), where_.next())
            {
                if let (Some(line), Some(col)) = (digits(line), digits(col)) {
                    positioned = Some((file, line, col));
                }
            }
        }
        let (file, at) = match positioned {
            Some((f, line, col)) => (cached(&mut self.resolved, f, resolve), point(line, col)),
            None => (block.file.clone(), block.at),
        };
        let Some(open) = head.rfind(" (") else {
            return edge;
        };
        if !head.ends_with(')') {
            return edge;
        }
        let subject = if open > 5 { &head[5..open] } else { "" };
        let reason = if open + 2 < head.len() {
            &head[open + 2..head.len() - 1]
        } else {
            ""
        };
        let step = Step {
            file,
            at,
            subject: subject.to_string(),
            reason: reason.to_string(),
            edge: self.edges[edge].clone(),
        };
        self.steps.push(step);
        let id = self.steps.len() - 1;
        if positioned.is_some() {
            self.seen.insert((text, edge), id);
        }
        block.steps.push(id);
        edge
    }
}

/// `parser._verdict`'s fast paths for the most frequent shapes, else `verdict`.
fn fast_verdict(file: &str, line: i64, col: i64, text: &str) -> Verdict {
    for (tail, kind) in [
        (" escapes to heap", "escapes-to-heap"),
        (" does not escape", "does-not-escape"),
    ] {
        if text.len() > tail.len() && text.ends_with(tail) && text.chars().count() > 16 {
            let subject = text[..text.len() - tail.len()].to_string();
            return Verdict {
                subject,
                ..verdict_plain(kind, file, line, col, text)
            };
        }
    }
    if text.starts_with("inlining call to ") && text.chars().count() > 16 {
        if let Some(subject) = inlined_subject(&text["inlining call to ".len()..]) {
            let subject = subject.to_string();
            return Verdict {
                subject,
                ..verdict_plain("inlined-call", file, line, col, text)
            };
        }
    }
    verdict(file, line, col, text)
}

/// `(?P<subject>.+?)(?: with score -?\d+)?$` without a regex: the lazy subject ends where an
/// optional ` with score N` ends the text.
fn inlined_subject(rest: &str) -> Option<&str> {
    if let Some(i) = rest.rfind(" with score ") {
        let score = &rest[i + " with score ".len()..];
        if i >= 1 && all_digits(score.strip_prefix('-').unwrap_or(score)) {
            return Some(&rest[..i]);
        }
    }
    (!rest.is_empty()).then_some(rest)
}

/// A verdict of `kind` with its message and no subject, flow or details yet.
fn verdict_plain(kind: &'static str, file: &str, line: i64, col: i64, text: &str) -> Verdict {
    Verdict {
        kind,
        file: file.to_string(),
        at: point(line, col),
        message: text.to_string(),
        subject: String::new(),
        function: None,
        flow: Vec::new(),
        cost: None,
        leak_to: None,
        detail: Vec::new(),
    }
}

/// `parser.merge_findings`: each explanation folded into the verdict it explains.
fn merge(verdicts: Vec<Verdict>, blocks: &[Explanation], steps: &[Step]) -> Vec<Verdict> {
    let mut unique: Vec<Verdict> = Vec::new();
    {
        let mut index: HashSet<(&str, Point, &str)> = HashSet::default();
        let mut keep = Vec::with_capacity(verdicts.len());
        for v in &verdicts {
            keep.push(index.insert((v.file.as_str(), v.at, v.message.as_str())));
        }
        unique.extend(
            verdicts
                .into_iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(v, _)| v),
        );
    }
    let mut by_pos: HashMap<(&str, Point), Vec<usize>> = HashMap::default();
    for (i, v) in unique.iter().enumerate() {
        by_pos.entry((v.file.as_str(), v.at)).or_default().push(i);
    }
    let mut flows: HashMap<usize, Vec<usize>> = HashMap::default();
    let mut functions: HashMap<usize, String> = HashMap::default();
    let mut unexplained: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut attach = |b: &Explanation, target: usize, flows: &mut HashMap<usize, Vec<usize>>| {
        flows
            .entry(target)
            .or_default()
            .extend(b.steps.iter().copied());
        if let Some(f) = b.function.as_ref().filter(|f| !f.is_empty()) {
            functions.entry(target).or_insert_with(|| f.clone());
        }
    };
    for (bi, block) in blocks.iter().enumerate() {
        let here = by_pos
            .get(&(block.file.as_str(), block.at))
            .cloned()
            .unwrap_or_default();
        match explained(block, &here, &unique) {
            Some(target) => attach(block, target, &mut flows),
            None if !block.is_leak => unexplained.push((bi, here)),
            None => {}
        }
    }
    let explained_now: HashSet<usize> = flows.keys().copied().collect();
    for (bi, here) in unexplained {
        let heap: Vec<usize> = here
            .iter()
            .copied()
            .filter(|i| escape_target(unique[*i].kind))
            .collect();
        if heap.len() == 1 && !explained_now.contains(&heap[0]) {
            attach(&blocks[bi], heap[0], &mut flows);
        }
    }
    for (target, flow) in flows {
        let mut have: HashSet<&Step> = HashSet::default();
        let v = &mut unique[target];
        v.flow = flow
            .into_iter()
            .filter(|i| have.insert(&steps[*i]))
            .collect();
        if v.function.as_ref().is_none_or(|f| f.is_empty()) {
            if let Some(f) = functions.get(&target) {
                v.function = Some(f.clone());
            }
        }
    }
    unique.sort_by(|a, b| {
        (&a.file, a.at, a.kind, &a.message).cmp(&(&b.file, b.at, b.kind, &b.message))
    });
    unique
}

/// The verdicts an escape header explains (`parser._ESCAPE_TARGETS`).
fn escape_target(kind: &str) -> bool {
    matches!(kind, "escapes-to-heap" | "moved-to-heap")
}

fn explained(block: &Explanation, here: &[usize], all: &[Verdict]) -> Option<usize> {
    let subject = block.subject.as_str();
    if !block.is_leak {
        let cands: Vec<usize> = here
            .iter()
            .copied()
            .filter(|i| escape_target(all[*i].kind))
            .collect();
        if let Some(f) = cands.iter().find(|i| all[**i].subject == subject) {
            return Some(*f);
        }
        if subject.starts_with("append(") {
            return cands.iter().copied().find(|i| all[*i].subject == "append");
        }
        return None;
    }
    let leak_target = |i: &usize| {
        matches!(
            all[*i].kind,
            "leaking-param"
                | "leaking-param-content"
                | "moved-to-heap"
                | "capture-by-value"
                | "capture-by-ref"
        )
    };
    let mut cands: Vec<usize> = here
        .iter()
        .copied()
        .filter(|i| leak_target(i) && all[*i].subject == subject)
        .collect();
    if cands.is_empty() {
        if let Some((_, bare)) = subject.rsplit_once('.') {
            cands = here
                .iter()
                .copied()
                .filter(|i| leak_target(i) && all[*i].subject == bare)
                .collect();
        }
    }
    if cands.is_empty() {
        return None;
    }
    let to = block.to.as_str();
    if !to.starts_with('{') {
        let result = to.rsplit('.').next().unwrap_or(to);
        for &i in &cands {
            if all[i].kind == "leaking-param"
                && matches!(all[i].leak_to.as_deref(), Some(t) if t == to || t == result)
            {
                return Some(i);
            }
        }
    }
    let of = |pred: &dyn Fn(&Verdict) -> bool| -> Vec<usize> {
        cands.iter().copied().filter(|i| pred(&all[*i])).collect()
    };
    let plain = of(&|f| f.kind == "leaking-param" && f.leak_to.as_deref() == Some("{heap}"));
    let content = of(&|f| f.kind == "leaking-param-content");
    let moved = of(&|f| f.kind == "moved-to-heap");
    let captures = of(&|f| matches!(f.kind, "capture-by-value" | "capture-by-ref"));
    let order = if block.derefs < 0 {
        [moved, plain, content, captures]
    } else if block.derefs == 0 {
        [plain, content, moved, captures]
    } else {
        [content, plain, moved, captures]
    };
    for g in order {
        if g.len() == 1 {
            return Some(g[0]);
        }
        if !g.is_empty() {
            return g
                .into_iter()
                .find(|i| same_function(&all[*i], block.function.as_deref()));
        }
    }
    None
}

fn same_function(verdict: &Verdict, function: Option<&str>) -> bool {
    match (verdict.function.as_deref(), function) {
        (Some(name), Some(f)) if !name.is_empty() && !f.is_empty() => {
            name == f || name.ends_with(&format!(".{f}"))
        }
        _ => false,
    }
}
