//! The parse's findings mapped to their ranges in one pass: `syntax.widen_findings` of
//! `parser.build_findings`, without a Python object between them. Each file's points are
//! located in one `Syntax::locate_many` (a point repeated is located once), and the findings
//! come in `syntax.MAPPED_ORDER`.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::parse::{Step, Verdict};
use crate::syntax::Syntax;

/// A range or a point as the Python model has it: 0-based lines and byte columns.
pub type Span = (i64, i64, i64, i64);

/// Where each finding and each flow step maps to.
pub struct Mapped {
    /// Per finding: its range and the inlined call it names, if any.
    pub findings: Vec<(Span, Option<String>)>,
    /// Per step: its range, and the compiler's point when the step's file has a tree
    /// (a step about a file without one stays at its point, as `_widen_step` leaves it).
    pub steps: Vec<(Span, Option<Span>)>,
    /// The findings' indexes in `MAPPED_ORDER`: file, range, kind, message, point.
    pub order: Vec<usize>,
}

type Point<'a> = (i64, i64, &'a str, Option<&'a str>);

/// One file's distinct points, in the order first seen.
#[derive(Default)]
struct FilePoints<'a> {
    points: Vec<Point<'a>>,
    index: HashMap<Point<'a>, usize>,
}

impl<'a> FilePoints<'a> {
    fn add(&mut self, point: Point<'a>) -> usize {
        let next = self.points.len();
        *self.index.entry(point).or_insert_with(|| {
            self.points.push(point);
            next
        })
    }
}

fn at(point: (i64, i64)) -> Span {
    (point.0, point.1, point.0, point.1)
}

fn widened(answer: Option<&(crate::syntax::Span, Option<String>)>, point: Span) -> Span {
    match answer {
        Some(((sl, sc, el, ec), _)) => (*sl as i64, *sc as i64, *el as i64, *ec as i64),
        None => point,
    }
}

/// The ranges of `found` and `steps`, the files' trees by path (None: the file is not
/// mapped, its points stay points).
pub fn map(
    found: &[Verdict],
    steps: &[Step],
    trees: &HashMap<String, Option<Arc<Syntax>>>,
) -> Mapped {
    let mut files: HashMap<&str, FilePoints> = HashMap::default();
    let tree_of = |file: &str| trees.get(file).and_then(Option::as_ref).is_some();
    let mut finding_points = Vec::with_capacity(found.len());
    for v in found {
        finding_points.push(tree_of(&v.file).then(|| {
            let point = (v.at.0, v.at.1, v.subject.as_str(), Some(v.kind));
            files.entry(&v.file).or_default().add(point)
        }));
    }
    let mut step_points = Vec::with_capacity(steps.len());
    for s in steps {
        step_points.push(tree_of(&s.file).then(|| {
            let point = (s.at.0, s.at.1, s.subject.as_str(), None);
            files.entry(&s.file).or_default().add(point)
        }));
    }
    let answers: HashMap<&str, Vec<Option<crate::syntax::Located>>> = files
        .iter()
        .filter_map(|(file, points)| {
            let tree = trees.get(*file)?.as_ref()?;
            Some((*file, tree.locate_many(&points.points)))
        })
        .collect();
    let answer = |file: &str, index: Option<usize>| {
        index.and_then(|i| answers.get(file).and_then(|a| a[i].as_ref()))
    };
    let mapped_findings: Vec<(Span, Option<String>)> = found
        .iter()
        .zip(&finding_points)
        .map(|(v, index)| {
            let hit = answer(&v.file, *index);
            (widened(hit, at(v.at)), hit.and_then(|h| h.1.clone()))
        })
        .collect();
    let mapped_steps = steps
        .iter()
        .zip(&step_points)
        .map(|(s, index)| match index {
            Some(_) => (widened(answer(&s.file, *index), at(s.at)), Some(at(s.at))),
            None => (at(s.at), None),
        })
        .collect();
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&found[*a], &found[*b]);
        (&x.file, mapped_findings[*a].0, x.kind, &x.message, x.at).cmp(&(
            &y.file,
            mapped_findings[*b].0,
            y.kind,
            &y.message,
            y.at,
        ))
    });
    Mapped {
        findings: mapped_findings,
        steps: mapped_steps,
        order,
    }
}
