//! escape-lsp's hot path compiled: the parse of the compiler's `-m=2` text and the mapping of
//! its points to ranges. `findings/native.py` loads it; the Python modules it mirrors
//! (`findings/parser.py`, `findings/syntax.py`) stay the reference, and tests compare the two.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};
use rustc_hash::FxHashMap as HashMap;

mod decode;
mod map;
mod parse;
mod syntax;

/// A located range and the inlined call it names, if any.
type Located = (usize, usize, usize, usize, Option<String>);

/// One Go file's syntax tree, for `GoSource`'s mapping.
#[pyclass(module = "escape_lsp.findings._native")]
struct NativeSource {
    /// Shared with a `map_findings` call that locates without the GIL.
    inner: Arc<syntax::Syntax>,
}

#[pymethods]
impl NativeSource {
    /// Parses `data` (the GIL released meanwhile, so other threads run beside it).
    #[new]
    fn new(py: Python<'_>, data: &Bound<'_, PyBytes>) -> PyResult<Self> {
        let bytes = data.as_bytes().to_vec();
        let inner = py
            .allow_threads(move || syntax::Syntax::parse(bytes))
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err("tree-sitter could not parse")
            })?;
        Ok(NativeSource {
            inner: Arc::new(inner),
        })
    }

    /// `GoSource._locate` at byte `offset`: `(start_line, start_col, end_line, end_col,
    /// inlined)`.
    #[pyo3(signature = (offset, subject, kind=None))]
    fn locate(&self, offset: usize, subject: &str, kind: Option<&str>) -> Located {
        let ((sl, sc, el, ec), inlined) = self.inner.locate(offset, subject, kind);
        (sl, sc, el, ec, inlined)
    }

    /// The byte ranges of the root's named children (the top-level declarations, comments
    /// and clauses), in order: `GoSource._tops_index` without the Python tree.
    fn top_level(&self) -> Vec<(usize, usize)> {
        self.inner.top_level()
    }

    /// `locate` of each `(line, col, subject, kind)`, at a point as the compiler gave it
    /// (0-based, clamped into its line; None past the last line).
    /// The GIL is released meanwhile, as `build_findings` does.
    fn locate_many(
        &self,
        py: Python<'_>,
        points: Vec<(i64, i64, String, Option<String>)>,
    ) -> Vec<Option<Located>> {
        let inner = &self.inner;
        let found = py.allow_threads(|| inner.locate_many(&points));
        found
            .into_iter()
            .map(|f| f.map(|((sl, sc, el, ec), inlined)| (sl, sc, el, ec, inlined)))
            .collect()
    }
}

/// A flow step: `(file, line, col, subject, reason, edge)`, line and column 0-based.
type StepRow = (String, i64, i64, String, String, String);
/// A finding: `(kind, file, line, col, message, subject, function, flow, cost, leak_to,
/// detail)`, line and column 0-based, `flow` indexes into the steps.
type FindingRow = (
    &'static str,
    String,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Vec<usize>,
    Option<i64>,
    Option<String>,
    Vec<(String, String)>,
);

/// `parser.build_findings` of `text`: the findings and the flow steps they index (a step
/// the output repeats is one step). `kept(file)` is the resolved path of a file as printed
/// ("" for one not kept), `resolve(file)` its resolved path; each is asked once per file.
/// The GIL is released while it parses (taken again only to ask those): the process's
/// other threads (a server's reader and watchers) run meanwhile.
#[pyfunction]
fn build_findings(
    py: Python<'_>,
    text: &str,
    kept: &Bound<'_, PyAny>,
    resolve: &Bound<'_, PyAny>,
) -> PyResult<(Vec<FindingRow>, Vec<StepRow>)> {
    let (found, steps) = parse_released(py, text, kept, resolve)?;
    let rows = found
        .into_iter()
        .map(|v| {
            (
                v.kind, v.file, v.at.0, v.at.1, v.message, v.subject, v.function, v.flow, v.cost,
                v.leak_to, v.detail,
            )
        })
        .collect();
    let steps = steps
        .into_iter()
        .map(|s| (s.file, s.at.0, s.at.1, s.subject, s.reason, s.edge))
        .collect();
    Ok((rows, steps))
}

/// `syntax.widen_findings` of `parser.build_findings(text)`, sorted by `syntax.MAPPED_ORDER`,
/// as `findings/codec.py` rows: `(kind, file, span, message, subject, function, flow, cost,
/// leak_to, detail, inlined, point)`, each flow step `(file, span, subject, reason, edge,
/// point)` (one tuple for a step the output repeats). `tree_of(path)` is the `NativeSource`
/// of a resolved path the findings or their steps name, or None for a file not mapped;
/// asked once per file. Parsing and locating run without the GIL.
/// With `model` (`(Finding, FlowStep, Span, kinds)`, as `decode_rows` takes them): the
/// findings themselves, as `codec.decode` would make them of the rows, no row made.
#[pyfunction]
#[pyo3(signature = (text, kept, resolve, tree_of, model=None))]
fn map_findings<'py>(
    py: Python<'py>,
    text: &str,
    kept: &Bound<'py, PyAny>,
    resolve: &Bound<'py, PyAny>,
    tree_of: &Bound<'py, PyAny>,
    model: Option<ModelArgs<'py>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let (found, steps) = parse_released(py, text, kept, resolve)?;
    let mut trees: HashMap<String, Option<Arc<syntax::Syntax>>> = HashMap::default();
    for file in found
        .iter()
        .map(|v| &v.file)
        .chain(steps.iter().map(|s| &s.file))
    {
        if !trees.contains_key(file) {
            let tree = tree_of.call1((file.as_str(),))?;
            let syntax = match tree.is_none() {
                true => None,
                false => Some(tree.downcast::<NativeSource>()?.borrow().inner.clone()),
            };
            trees.insert(file.clone(), syntax);
        }
    }
    let mapped = py.allow_threads(|| map::map(&found, &steps, &trees));
    let model = model.map(ModelArgs::model).transpose()?;
    let mut names: HashMap<String, Bound<'py, PyString>> = HashMap::default();
    let mut name = |text: &str| -> Bound<'py, PyAny> {
        if let Some(known) = names.get(text) {
            return known.clone().into_any();
        }
        let made = PyString::intern(py, text);
        names.insert(text.to_owned(), made.clone());
        made.into_any()
    };
    // Texts many findings or steps repeat (a subject, a step's reason and edge, a function's
    // name), one object each, kept by the findings, not the interpreter's interned table
    // (std's net/http, all its findings: 27.2 → 24.3 MiB held).
    let mut words: HashMap<String, Bound<'py, PyAny>> = HashMap::default();
    let mut word = |text: Option<&'_ str>| -> Bound<'py, PyAny> {
        let Some(text) = text else {
            return py.None().into_bound(py);
        };
        if let Some(known) = words.get(text) {
            return known.clone();
        }
        let made = PyString::new(py, text).into_any();
        words.insert(text.to_owned(), made.clone());
        made
    };
    let any = |value: Bound<'py, PyTuple>| value.into_any();
    let mut step_rows: Vec<Option<Bound<'py, PyAny>>> = vec![None; steps.len()];
    let mut rows = Vec::with_capacity(found.len());
    for i in mapped.order {
        let v = &found[i];
        let mut flow = Vec::with_capacity(v.flow.len());
        for &s in &v.flow {
            let row = match &step_rows[s] {
                Some(made) => made.clone(),
                None => {
                    let (step, (span, point)) = (&steps[s], mapped.steps[s]);
                    let made = match &model {
                        None => any((
                            name(&step.file),
                            span,
                            &step.subject,
                            &step.reason,
                            &step.edge,
                            point,
                        )
                            .into_pyobject(py)?),
                        Some(model) => model.step([
                            name(&step.file),
                            model.span(span)?,
                            word(Some(&step.subject)),
                            word(Some(&step.reason)),
                            word(Some(&step.edge)),
                            match point {
                                Some(point) => model.span(point)?,
                                None => py.None().into_bound(py),
                            },
                        ])?,
                    };
                    step_rows[s] = Some(made.clone());
                    made
                }
            };
            flow.push(row);
        }
        let (span, inlined) = &mapped.findings[i];
        let point = (v.at.0, v.at.1, v.at.0, v.at.1);
        let row = match &model {
            None => any((
                name(v.kind),
                name(&v.file),
                *span,
                &v.message,
                &v.subject,
                &v.function,
                PyTuple::new(py, flow)?,
                v.cost,
                &v.leak_to,
                PyTuple::new(py, &v.detail)?,
                inlined,
                point,
            )
                .into_pyobject(py)?),
            Some(model) => {
                let fields = decode::Fields {
                    kind: model.kind(&name(v.kind))?,
                    file: name(&v.file),
                    span: model.span(*span)?,
                    message: (&v.message).into_pyobject(py)?.into_any(),
                    subject: word(Some(&v.subject)),
                    function: word(v.function.as_deref()),
                    cost: v.cost.into_pyobject(py)?.into_any(),
                    leak_to: word(v.leak_to.as_deref()),
                    detail: PyTuple::new(py, &v.detail)?.into_any(),
                    inlined: inlined.into_pyobject(py)?.into_any(),
                    point: model.span(point)?,
                };
                model.finding(fields, flow)?
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

/// The model's classes as Python passes them: `(Finding, FlowStep, Span, kinds)`.
#[derive(FromPyObject)]
struct ModelArgs<'py>(
    Bound<'py, PyType>,
    Bound<'py, PyType>,
    Bound<'py, PyType>,
    Bound<'py, PyDict>,
);

impl<'py> ModelArgs<'py> {
    /// The model, once its ranges' and steps' classes are known to be tuples (they are
    /// made as tuples are).
    fn model(self) -> PyResult<decode::Model<'py>> {
        for cls in [&self.1, &self.2] {
            if !cls.is_subclass_of::<PyTuple>()? {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{} is not a tuple type",
                    cls.name()?
                )));
            }
        }
        Ok(decode::Model {
            finding: self.0,
            step: self.1,
            span: self.2,
            kinds: self.3,
            spans: Default::default(),
        })
    }
}

/// `codec.decode` of `rows`: the findings (`model` as `map_findings` takes it), a step row
/// several rows share one step.
#[pyfunction]
fn decode_rows<'py>(
    rows: &Bound<'py, PyAny>,
    model: ModelArgs<'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    model.model()?.decode(rows)
}

/// `parse::build` of `text` with the GIL released (taken again only to ask `kept` and
/// `resolve`, once per file): the process's other threads (a server's reader and watchers)
/// run meanwhile.
fn parse_released(
    py: Python<'_>,
    text: &str,
    kept: &Bound<'_, PyAny>,
    resolve: &Bound<'_, PyAny>,
) -> PyResult<(Vec<parse::Verdict>, Vec<parse::Step>)> {
    let asker = Asker::default();
    let (kept, resolve) = (kept.clone().unbind(), resolve.clone().unbind());
    let parsed = py.allow_threads(|| {
        parse::build(text, &mut |file| asker.ask(&kept, file), &mut |file| {
            asker.ask(&resolve, file)
        })
    });
    asker.done(parsed)
}

/// `parser.split_by_file` of `text`: `(path, text)` per file, `resolve(file)` naming each
/// file as printed (asked once per file).
#[pyfunction]
fn split_by_file(
    py: Python<'_>,
    text: &str,
    resolve: &Bound<'_, PyAny>,
) -> PyResult<Vec<(String, String)>> {
    let asker = Asker::default();
    let resolve = resolve.clone().unbind();
    let split = py.allow_threads(|| parse::split(text, &mut |file| asker.ask(&resolve, file)));
    asker.done(split)
}

/// Asks Python callbacks for a file's path, the GIL taken for each question (the parse runs
/// without it); the first error they raise is the call's.
#[derive(Default)]
struct Asker {
    error: std::sync::Mutex<Option<PyErr>>,
}

impl Asker {
    /// `f(file)` as a string; "" after an error (kept for `done`).
    fn ask(&self, f: &Py<PyAny>, file: &str) -> String {
        Python::with_gil(
            |py| match f.call1(py, (file,)).and_then(|r| r.extract::<String>(py)) {
                Ok(path) => path,
                Err(e) => {
                    let mut error = self.error.lock().unwrap_or_else(|p| p.into_inner());
                    error.get_or_insert(e);
                    String::new()
                }
            },
        )
    }

    /// `value`, or the first error a callback raised while it was computed.
    fn done<T>(self, value: T) -> PyResult<T> {
        match self.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeSource>()?;
    m.add_function(wrap_pyfunction!(build_findings, m)?)?;
    m.add_function(wrap_pyfunction!(map_findings, m)?)?;
    m.add_function(wrap_pyfunction!(decode_rows, m)?)?;
    m.add_function(wrap_pyfunction!(split_by_file, m)?)?;
    Ok(())
}
