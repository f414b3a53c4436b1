//! The compiler's point to the range its subject covers: `GoSource._locate` of
//! `findings/syntax.py`, rule for rule (that file's docstrings say why each rule is there).
//! Strings are compared as Python compares them: whitespace is what `str.split()` splits at,
//! lengths the limits use are counted in characters, bytes are decoded with replacement.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::{Node, Parser, Tree};

const IDENTIFIERS: [&str; 4] = [
    "identifier",
    "field_identifier",
    "type_identifier",
    "package_identifier",
];
const STOP: [&str; 5] = [
    "source_file",
    "block",
    "statement_list",
    "function_declaration",
    "method_declaration",
];
const CALLS: [&str; 2] = ["call_expression", "type_conversion_expression"];
const NORM_CACHE_NODE: usize = 2048;
/// From this many points a file's are located on two threads (`locate_many`): a large
/// generated file (net/http's h2_bundle.go: ~7,000), not a typical one (server.go: ~2,500).
const PARALLEL_POINTS: usize = 4096;

/// A range: 0-based lines and byte columns, end exclusive (`model.Span`).
pub type Span = (usize, usize, usize, usize);
/// A located range and the inlined call it names, if any.
pub type Located = (Span, Option<String>);

/// What `str.isspace()` holds for: Unicode's White_Space and the four separators U+001C–U+001F.
pub fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `"".join(text.split())`.
pub fn norm(text: &str) -> String {
    text.chars().filter(|c| !py_space(*c)).collect()
}

fn unparen(text: &str) -> String {
    text.replace(['(', ')'], "")
}

fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn is_identifier(kind: &str) -> bool {
    IDENTIFIERS.contains(&kind)
}

/// One Go file's bytes, line starts and syntax tree.
pub struct Syntax {
    data: Vec<u8>,
    starts: Vec<usize>,
    /// The root's children (visible ones, hidden nodes flattened), in order: the top-level
    /// declarations. `Node<'static>`: nodes point into the tree's heap allocation, which the
    /// `Tree` owns and never moves nor frees before the `Syntax` goes (declared before `tree`,
    /// so dropped first; a `Node` has no drop of its own either way).
    tops: Vec<Node<'static>>,
    tree: Tree,
    /// Whitespace-free texts of small nodes (findings share their ancestors).
    norms: Mutex<HashMap<(usize, usize), String>>,
}

impl Syntax {
    pub fn parse(data: Vec<u8>) -> Option<Syntax> {
        let mut parser = Parser::new();
        parser.set_language(&tree_sitter_go::LANGUAGE.into()).ok()?;
        let tree = parser.parse(&data, None)?;
        let mut starts = vec![0];
        starts.extend(
            data.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        // SAFETY: see `tops`; the nodes are dropped with (before) the tree.
        let tops = tops_of(&tree)
            .into_iter()
            .map(|n| unsafe { std::mem::transmute::<Node<'_>, Node<'static>>(n) })
            .collect();
        Some(Syntax {
            data,
            starts,
            tree,
            tops,
            norms: Mutex::new(HashMap::new()),
        })
    }

    pub fn top_level(&self) -> Vec<(usize, usize)> {
        let root = self.tree.root_node();
        let mut cursor = root.walk();
        let found = root
            .named_children(&mut cursor)
            .map(|n| (n.start_byte(), n.end_byte()));
        found.collect()
    }

    fn line_of(&self, offset: usize) -> usize {
        // bisect_right(starts, offset) - 1
        self.starts.partition_point(|s| *s <= offset) - 1
    }

    fn line_length(&self, line: usize) -> usize {
        let start = self.starts[line];
        let mut end = if line + 1 < self.starts.len() {
            self.starts[line + 1] - 1
        } else {
            self.data.len()
        };
        if end > start && self.data[end - 1] == b'\r' {
            end -= 1;
        }
        end - start
    }

    fn byte_span(&self, start: usize, end: usize) -> Span {
        let (sl, el) = (self.line_of(start), self.line_of(end));
        (sl, start - self.starts[sl], el, end - self.starts[el])
    }

    fn text(&self, node: Node) -> String {
        lossy(&self.data[node.start_byte()..node.end_byte()])
    }

    /// The byte offset of a point as the compiler gave it (`_locate_anew`): None past the
    /// last line, else clamped into the file.
    fn offset_at(&self, line: i64, col: i64) -> Option<usize> {
        if line >= self.starts.len() as i64 {
            return None;
        }
        let line = line.max(0) as usize;
        Some(self.starts[line] + (col.max(0) as usize).min(self.line_length(line)))
    }

    /// `locate` of each `(line, col, subject, kind)` point as the compiler gave it (None past
    /// the last line). The points are visited in file order, each descent starting from the
    /// deepest node of the previous one that holds the new point: the same nodes as a
    /// descent from the root (a node holding the point is, at its level, the first whose end
    /// passes it), without scanning the levels above again. At least `PARALLEL_POINTS`
    /// points: the later half is located on a second thread, in a shallow copy of the tree
    /// (tree-sitter's trees are read from one thread at a time).
    pub fn locate_many<S: AsRef<str> + Sync>(
        &self,
        points: &[(i64, i64, S, Option<S>)],
    ) -> Vec<Option<Located>> {
        let offsets: Vec<Option<usize>> = points.iter().map(|p| self.offset_at(p.0, p.1)).collect();
        let mut order: Vec<usize> = (0..points.len())
            .filter(|i| offsets[*i].is_some())
            .collect();
        order.sort_by_key(|i| offsets[*i]);
        let mut out: Vec<Option<Located>> = vec![None; points.len()];
        let located = if order.len() < PARALLEL_POINTS {
            self.locate_ordered(&self.tree, &self.tops, points, &offsets, &order)
        } else {
            let (first, later) = order.split_at(order.len() / 2);
            let copy = self.tree.clone();
            let copy_tops = tops_of(&copy);
            std::thread::scope(|scope| {
                let other = std::thread::Builder::new().spawn_scoped(scope, || {
                    self.locate_ordered(&copy, &copy_tops, points, &offsets, later)
                });
                let mut here = self.locate_ordered(&self.tree, &self.tops, points, &offsets, first);
                here.extend(match other {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(_) => self.locate_ordered(&self.tree, &self.tops, points, &offsets, later),
                });
                here
            })
        };
        for (i, found) in located {
            out[i] = Some(found);
        }
        out
    }

    /// `locate` of `points[i]` for each `i` of `order` (in file order), in `tree` (this
    /// file's, or a copy of it) whose top-level nodes are `tops`.
    fn locate_ordered<'t, S: AsRef<str>>(
        &self,
        tree: &'t Tree,
        tops: &[Node<'t>],
        points: &[(i64, i64, S, Option<S>)],
        offsets: &[Option<usize>],
        order: &[usize],
    ) -> Vec<(usize, Located)> {
        let mut path: Vec<Node> = vec![tree.root_node()]; // root first
        let mut out = Vec::with_capacity(order.len());
        for &i in order {
            let offset = offsets[i].unwrap_or(0);
            while path.len() > 1 {
                let last = path[path.len() - 1];
                if last.start_byte() <= offset && offset < last.end_byte() {
                    break;
                }
                path.pop();
            }
            descend(tops, &mut path, offset);
            let up = Ancestry {
                nodes: path.iter().rev().copied().collect(),
            };
            let (_, _, subject, kind) = &points[i];
            let kind = kind.as_ref().map(AsRef::as_ref);
            out.push((i, self.locate_in(&up, offset, subject.as_ref(), kind)));
        }
        out
    }

    /// The range and inlined call for the compiler's point at byte `offset`.
    pub fn locate(&self, offset: usize, subject: &str, kind: Option<&str>) -> Located {
        let mut path = vec![self.tree.root_node()];
        descend(&self.tops, &mut path, offset);
        let up = Ancestry {
            nodes: path.into_iter().rev().collect(),
        };
        self.locate_in(&up, offset, subject, kind)
    }

    fn locate_in(
        &self,
        up: &Ancestry,
        offset: usize,
        subject: &str,
        kind: Option<&str>,
    ) -> Located {
        let leaf = up.nodes[0];
        let (node, inlined) = self.pick(up, leaf, subject, kind);
        (self.clip(node, offset, leaf), inlined)
    }

    fn pick<'t>(
        &self,
        up: &Ancestry<'t>,
        leaf: Node<'t>,
        subject: &str,
        kind: Option<&str>,
    ) -> (Node<'t>, Option<String>) {
        if matches!(kind, Some("can-inline") | Some("cannot-inline")) {
            let mut method = if leaf.kind() == "(" {
                up.parent(leaf)
            } else {
                None
            };
            if let Some(m) = method {
                if up.parent(m).is_some() && m.kind() == "parameter_list" {
                    method = up.parent(m);
                }
            }
            if let Some(m) = method {
                if m.kind() == "method_declaration" {
                    if let Some(name) = m.child_by_field_name("name") {
                        return (name, None);
                    }
                }
            }
            return (leaf, None);
        }
        let call = call_at_paren(up, leaf);
        let inlining = matches!(kind, Some("inlined-call") | Some("devirtualized"));
        if let Some(c) = call {
            if inlining {
                return (c, None);
            }
        }
        let chain = up.chain();
        if chain.is_empty() {
            return (leaf, None);
        }
        if inlining {
            return (first(&chain, &CALLS).unwrap_or(leaf), None);
        }
        if !subject.is_empty() {
            if let Some(found) = self.named_by(&chain, subject) {
                return (found, None);
            }
        }
        if let Some(special) = self.special(up, leaf, &chain, call, subject, kind) {
            return (special, None);
        }
        if let Some(c) = call {
            if may_be_inlined(subject, kind) {
                return (c, Some(self.callee(c)));
            }
        }
        if let Some(owner) = owner(up, leaf) {
            for types in shape_of(subject) {
                if types.contains(&owner.kind()) {
                    return (self.whole_concatenation(up, owner, subject), None);
                }
            }
        }
        if is_identifier(leaf.kind()) {
            return (leaf, None);
        }
        (
            chain.iter().copied().find(|c| c.is_named()).unwrap_or(leaf),
            None,
        )
    }

    fn named_by<'t>(&self, chain: &[Node<'t>], subject: &str) -> Option<Node<'t>> {
        let wanted = norm(subject);
        let elided = subject.contains("{...}");
        let unparened = unparen(&wanted);
        let parts: Vec<&str> = unparened.split("{...}").collect();
        let head = parts[0];
        let head_chars = head.chars().count();
        let limit = 4 * wanted.chars().count() + 64;
        let shortest = head_chars;
        let starts: Vec<u8> = if head.is_empty() {
            Vec::new()
        } else {
            let mut s = vec![b'('];
            s.extend(wanted.as_bytes().first());
            s.extend(head.as_bytes().first());
            s
        };
        for &candidate in chain {
            let (start, end) = (candidate.start_byte(), candidate.end_byte());
            if !elided && end - start > limit {
                break;
            }
            if end - start < shortest || (!starts.is_empty() && !starts.contains(&self.data[start]))
            {
                continue;
            }
            if !candidate.is_named() && !is_identifier(candidate.kind()) {
                continue;
            }
            if elided {
                let lead_end = (start + 4 * head_chars + 64).min(self.data.len());
                let lead = unparen(&norm(&lossy(&self.data[start..lead_end])));
                if !lead.starts_with(head) {
                    continue;
                }
            }
            let text = self.normalised(candidate);
            if text == wanted || loosely(&unparen(&text), &parts) {
                return Some(candidate);
            }
        }
        None
    }

    fn normalised(&self, node: Node) -> String {
        let key = (node.start_byte(), node.end_byte());
        if let Some(text) = self.norms.lock().unwrap().get(&key) {
            return text.clone();
        }
        let text = norm(&self.text(node));
        if key.1 - key.0 <= NORM_CACHE_NODE {
            self.norms.lock().unwrap().insert(key, text.clone());
        }
        text
    }

    fn special<'t>(
        &self,
        up: &Ancestry<'t>,
        leaf: Node<'t>,
        chain: &[Node<'t>],
        call: Option<Node<'t>>,
        subject: &str,
        kind: Option<&str>,
    ) -> Option<Node<'t>> {
        if subject == "append" {
            if let Some(c) = call {
                let fun = c.child_by_field_name("function")?;
                return (&self.data[fun.start_byte()..fun.end_byte()] == b"append").then_some(c);
            }
        }
        if subject.starts_with("... argument") && call.is_some() {
            return up.parent(leaf);
        }
        if subject == "func literal" && leaf.kind() == "func" {
            if let Some(parent) = up.parent(leaf) {
                return (parent.kind() == "func_literal").then_some(parent);
            }
        }
        if kind == Some("zero-copy-conversion") {
            return first(chain, &CALLS);
        }
        if kind == Some("bounds-check-elided") && call.is_none() {
            return first(chain, &["index_expression", "slice_expression"]);
        }
        None
    }

    fn callee(&self, call: Node) -> String {
        let Some(fun) = call.child_by_field_name("function") else {
            return spaced(&self.text(call)).chars().take(80).collect();
        };
        if fun.kind() == "func_literal" {
            return "func literal".to_string();
        }
        let text = spaced(&self.text(fun));
        if text.chars().count() <= 80 {
            text
        } else {
            text.chars().take(79).chain(std::iter::once('…')).collect()
        }
    }

    fn whole_concatenation<'t>(
        &self,
        up: &Ancestry<'t>,
        node: Node<'t>,
        subject: &str,
    ) -> Node<'t> {
        if node.kind() != "binary_expression" {
            return node;
        }
        let wanted = subject.matches(" + ").count();
        let pluses = |n: Node| {
            self.data[n.start_byte()..n.end_byte()]
                .iter()
                .filter(|b| **b == b'+')
                .count()
        };
        let mut node = node;
        let mut have = pluses(node);
        while have < wanted {
            let Some(parent) = up.parent(node) else { break };
            if parent.kind() != node.kind() {
                break;
            }
            match parent.child_by_field_name("operator") {
                Some(op) if op.kind() == "+" => {}
                _ => break,
            }
            node = parent;
            have = pluses(node);
        }
        node
    }

    #[allow(clippy::nonminimal_bool)] // the condition as `_clip` writes it
    fn clip(&self, node: Node, offset: usize, leaf: Node) -> Span {
        let (mut start, mut end) = (node.start_byte(), node.end_byte());
        if node.kind() == "func_literal" {
            if let Some(body) = node.child_by_field_name("body") {
                if offset < body.start_byte() {
                    end = body.start_byte();
                }
            }
        }
        let blank = |b: u8| b == b' ' || b == b'\t';
        let data = &self.data;
        let mut sl = self.line_of(start);
        let mut el = self.line_of(end);
        if el != sl {
            let pl = self.line_of(offset);
            let line_start = self.starts[pl];
            start = start.max(line_start);
            end = end.min(line_start + self.line_length(pl));
            while start < offset && blank(data[start]) {
                start += 1;
            }
            sl = pl;
            el = pl;
        }
        while end > start && end > offset + 1 && blank(data[end - 1]) {
            end -= 1;
        }
        if !(start <= offset && offset < end) && !(start == offset && offset == end) {
            return self.byte_span(leaf.start_byte(), leaf.end_byte().max(leaf.start_byte()));
        }
        (sl, start - self.starts[sl], el, end - self.starts[el])
    }
}

/// The root's children (visible ones, hidden nodes flattened), in order: the top-level
/// declarations of `tree`.
fn tops_of(tree: &Tree) -> Vec<Node<'_>> {
    let mut tops = Vec::new();
    let mut cursor = tree.walk();
    if cursor.goto_first_child() {
        loop {
            tops.push(cursor.node());
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    tops
}

/// Extends `path` (root first, its last node holding `offset`, or the root alone) down to
/// the token at `offset`: what `root.descendant_for_byte_range(offset, offset + 1)` finds,
/// with every `parent` on the way. That search scans each level's children for the first
/// whose end passes the offset, and stops where that one starts after it; the top level
/// (`tops`: a thousand declarations in a large file) is searched by bisection, the levels
/// below with a cursor.
fn descend<'t>(tops: &[Node<'t>], path: &mut Vec<Node<'t>>, offset: usize) {
    if path.len() == 1 {
        let at = tops.partition_point(|n| n.end_byte() <= offset);
        match tops.get(at).filter(|top| top.start_byte() <= offset) {
            Some(top) => path.push(*top),
            None => return,
        }
    }
    let mut cursor = path[path.len() - 1].walk();
    while cursor.goto_first_child_for_byte(offset).is_some() {
        let node = cursor.node();
        if node.start_byte() > offset {
            break;
        }
        path.push(node);
    }
}

/// `" ".join(text.split())`.
fn spaced(text: &str) -> String {
    text.split(py_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The token at the point and its ancestors, smallest first, found in one descent from the
/// root (tree-sitter has no parent links: each `parent()` descends from the root again).
struct Ancestry<'t> {
    nodes: Vec<Node<'t>>,
}

impl<'t> Ancestry<'t> {
    /// `node.parent()`, for a node on this line of ancestors.
    fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        let at = self.nodes.iter().position(|n| *n == node)?;
        self.nodes.get(at + 1).copied()
    }

    /// The token and its ancestors up to the enclosing block (`_Point.chain`).
    fn chain(&self) -> Vec<Node<'t>> {
        self.nodes
            .iter()
            .copied()
            .take_while(|n| !STOP.contains(&n.kind()))
            .collect()
    }
}

fn first<'t>(chain: &[Node<'t>], types: &[&str]) -> Option<Node<'t>> {
    chain.iter().copied().find(|c| types.contains(&c.kind()))
}

fn call_at_paren<'t>(up: &Ancestry<'t>, leaf: Node<'t>) -> Option<Node<'t>> {
    if leaf.kind() != "(" {
        return None;
    }
    let args = up.parent(leaf)?;
    if args.kind() != "argument_list" {
        return None;
    }
    let call = up.parent(args)?;
    (call.kind() == "call_expression" && args.start_byte() == leaf.start_byte()).then_some(call)
}

fn may_be_inlined(subject: &str, kind: Option<&str>) -> bool {
    if matches!(
        kind,
        Some("bounds-check-elided") | Some("zero-copy-conversion")
    ) {
        return true;
    }
    !subject.is_empty() && !subject.starts_with(['.', '~'])
}

fn owner<'t>(up: &Ancestry<'t>, leaf: Node<'t>) -> Option<Node<'t>> {
    if leaf.is_named() && !is_identifier(leaf.kind()) {
        return Some(leaf);
    }
    let parent = up.parent(leaf);
    if let Some(p) = parent {
        if p.kind() == "literal_value" {
            if let Some(pp) = up.parent(p) {
                return Some(if pp.kind() == "composite_literal" {
                    pp
                } else {
                    p
                });
            }
        }
    }
    if is_identifier(leaf.kind()) {
        None
    } else {
        parent
    }
}

#[allow(clippy::int_plus_one)] // the comparison as `_loosely` writes it
fn loosely(text: &str, parts: &[&str]) -> bool {
    if parts.len() == 1 {
        return text == parts[0];
    }
    let last = parts[parts.len() - 1];
    if !text.starts_with(&format!("{}{{", parts[0])) || !text.ends_with(&format!("}}{last}")) {
        return false;
    }
    let mut at = parts[0].len() + 1;
    for part in &parts[1..parts.len() - 1] {
        let needle = format!("}}{part}{{");
        let Some(found) = text.get(at..).and_then(|rest| rest.find(&needle)) else {
            return false;
        };
        at += found + part.len() + 2;
    }
    // `at <= len(text) - len(last) - 1`, in bytes (`at` and the right side are both positions
    // in `text`); as Python ints the right side may be negative.
    (at as isize) <= text.len() as isize - last.len() as isize - 1
}

fn shape_of(subject: &str) -> Vec<&'static [&'static str]> {
    static ASSIGN: OnceLock<Regex> = OnceLock::new();
    static BINARY: OnceLock<Regex> = OnceLock::new();
    let assign = ASSIGN.get_or_init(|| Regex::new(r"[\s\x1c-\x1f][-+*/%|&^<>]?= ").unwrap());
    let binary =
        BINARY.get_or_init(|| Regex::new(r"[\s\x1c-\x1f][-+*/%|&^<>=!]+[\s\x1c-\x1f]").unwrap());
    if subject.starts_with("return ") || subject == "return" {
        return vec![&["return_statement"]];
    }
    if subject.contains(" := ") {
        return vec![&["short_var_declaration"], &["range_clause"]];
    }
    if subject.contains(" <- ") {
        return vec![&["send_statement"]];
    }
    if assign.is_match(subject) {
        return vec![&["assignment_statement"]];
    }
    if subject == "func literal" {
        return vec![&["func_literal"]];
    }
    if subject.starts_with("... argument") {
        return vec![&["argument_list"]];
    }
    if subject.starts_with('&') {
        return vec![&["unary_expression"]];
    }
    if subject.contains('{') {
        return vec![&["composite_literal", "literal_value"]];
    }
    if subject.ends_with(')') {
        return vec![&CALLS];
    }
    if binary.is_match(subject) {
        return vec![&["binary_expression"]];
    }
    Vec::new()
}
