//! The model's objects made in Rust: `codec.decode` of rows (the memo's, read by `marshal`,
//! or a mapping child's), and the findings `map_findings` makes without rows between. No
//! Python frame per finding's range or step. `findings/codec.py` keeps the Python decode as
//! the reference; `tests/test_native.py` compares the two.

use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;

use crate::map::Span;

/// The model's classes (`findings/model.py`), and the ranges made so far.
pub struct Model<'py> {
    pub finding: Bound<'py, PyType>,
    pub step: Bound<'py, PyType>,
    pub span: Bound<'py, PyType>,
    /// `Kind` by its value.
    pub kinds: Bound<'py, PyDict>,
    /// One `Span` object per range (they are immutable): a finding's point and range, and
    /// the steps at one place, share it (std's net/http, all its findings made at once:
    /// 29.5 → 27.2 MiB held).
    pub spans: RefCell<HashMap<Span, Bound<'py, PyAny>>>,
}

/// A finding's fields but its flow, as `Finding(...)` takes them.
pub struct Fields<'py> {
    pub kind: Bound<'py, PyAny>,
    pub file: Bound<'py, PyAny>,
    pub span: Bound<'py, PyAny>,
    pub message: Bound<'py, PyAny>,
    pub subject: Bound<'py, PyAny>,
    pub function: Bound<'py, PyAny>,
    pub cost: Bound<'py, PyAny>,
    pub leak_to: Bound<'py, PyAny>,
    /// Its `(name, value)` pairs (a dict is made of them).
    pub detail: Bound<'py, PyAny>,
    pub inlined: Bound<'py, PyAny>,
    pub point: Bound<'py, PyAny>,
}

impl<'py> Model<'py> {
    /// An instance of the tuple subclass `cls` holding `items`, as `tuple.__new__(cls,
    /// items)` makes it: the type's own allocation, then the items.
    fn named(
        &self,
        cls: &Bound<'py, PyType>,
        items: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        // SAFETY: `cls` is one of the model's NamedTuples, a tuple subclass (`ModelArgs::model`
        // checks): its allocation is a tuple of `items.len()` empty slots, one reference held
        // here, which `PyTuple_SetItem` fills (stealing each item's reference).
        unsafe {
            let made = ffi::PyType_GenericAlloc(cls.as_type_ptr(), items.len() as ffi::Py_ssize_t);
            let made = Bound::from_owned_ptr_or_err(py, made)?;
            for (i, item) in items.into_iter().enumerate() {
                if ffi::PyTuple_SetItem(made.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) != 0 {
                    return Err(PyErr::fetch(py));
                }
            }
            Ok(made)
        }
    }

    /// `Span` of four numbers (a line or column repeated is one number object).
    pub fn span(&self, span: Span) -> PyResult<Bound<'py, PyAny>> {
        if let Some(made) = self.spans.borrow().get(&span) {
            return Ok(made.clone());
        }
        let py = self.span.py();
        let (a, b, c, d) = span;
        let number = |n: i64| n.into_pyobject(py).map(Bound::into_any);
        let (start_line, start_col) = (number(a)?, number(b)?);
        let end_line = if c == a {
            start_line.clone()
        } else {
            number(c)?
        };
        let end_col = if d == b {
            start_col.clone()
        } else {
            number(d)?
        };
        let made = self.named(&self.span, vec![start_line, start_col, end_line, end_col])?;
        self.spans.borrow_mut().insert(span, made.clone());
        Ok(made)
    }

    /// `Span` of a row's range: a tuple of numbers (not counted, as in Python).
    fn span_of(&self, row: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(four) = row.extract::<Span>() {
            return self.span(four);
        }
        self.named(&self.span, row.downcast::<PyTuple>()?.iter().collect())
    }

    /// `FlowStep(file, span, subject, reason, edge, point)`.
    pub fn step(&self, fields: [Bound<'py, PyAny>; 6]) -> PyResult<Bound<'py, PyAny>> {
        self.named(&self.step, fields.into())
    }

    /// `Kind(value)`; KeyError for a value no kind has.
    pub fn kind(&self, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.kinds
            .get_item(value)?
            .ok_or_else(|| PyKeyError::new_err(value.clone().unbind()))
    }

    /// `Finding(...)` of `fields` and `flow`.
    pub fn finding(
        &self,
        fields: Fields<'py>,
        flow: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.finding.py();
        let detail = match fields.detail.is_truthy()? {
            true => PyDict::from_sequence(&fields.detail)?,
            false => PyDict::new(py),
        };
        let args = PyTuple::new(
            py,
            [
                fields.kind,
                fields.file,
                fields.span,
                fields.message,
                fields.subject,
                fields.function,
                PyTuple::new(py, flow)?.into_any(),
                fields.cost,
                fields.leak_to,
                detail.into_any(),
                fields.inlined,
                fields.point,
            ],
        )?;
        self.finding.call1(args)
    }

    fn step_of(&self, row: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let row = row.downcast::<PyTuple>()?;
        if row.len() != 6 {
            return Err(PyTypeError::new_err(format!(
                "a flow step row of {} items",
                row.len()
            )));
        }
        let item = |i: usize| row.get_item(i);
        let point = item(5)?;
        let point = match point.is_truthy()? {
            true => self.span_of(&point)?,
            false => row.py().None().into_bound(row.py()),
        };
        self.step([
            item(0)?,
            self.span_of(&item(1)?)?,
            item(2)?,
            item(3)?,
            item(4)?,
            point,
        ])
    }

    /// The findings of `rows`, as `codec.decode` makes them: a step row several rows share
    /// is one step object. TypeError/KeyError for a row of another shape.
    pub fn decode(&self, rows: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let py = rows.py();
        let mut steps: HashMap<usize, Bound<'py, PyAny>> = HashMap::default();
        let mut out = Vec::new();
        for row in rows.try_iter()? {
            let row = row?;
            let row = row.downcast::<PyTuple>()?;
            if row.len() != 12 {
                return Err(PyTypeError::new_err(format!(
                    "a finding row of {} items",
                    row.len()
                )));
            }
            let item = |i: usize| row.get_item(i);
            let flow = item(6)?;
            let mut made = Vec::new();
            for s in flow.downcast::<PyTuple>()?.iter() {
                let key = s.as_ptr() as usize; // `rows` holds every row while this runs
                let done = match steps.get(&key) {
                    Some(done) => done.clone(),
                    None => {
                        let done = self.step_of(&s)?;
                        steps.insert(key, done.clone());
                        done
                    }
                };
                made.push(done);
            }
            let point = item(11)?;
            let fields = Fields {
                kind: self.kind(&item(0)?)?,
                file: item(1)?,
                span: self.span_of(&item(2)?)?,
                message: item(3)?,
                subject: item(4)?,
                function: item(5)?,
                cost: item(7)?,
                leak_to: item(8)?,
                detail: item(9)?,
                inlined: item(10)?,
                point: match point.is_none() {
                    true => point,
                    false => self.span_of(&point)?,
                },
            };
            out.push(self.finding(fields, made)?);
        }
        PyTuple::new(py, out)
    }
}
