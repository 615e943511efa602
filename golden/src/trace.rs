//! Named per-stage intermediates (`block3.attn.softmax`, ...) recorded during a forward pass, so a
//! mismatch between two implementations can be localized to the first stage that differs.

use ndarray::Array2;

/// Intermediate tensors in execution order. Integer traces widen every stage to `i32`.
#[derive(Clone, Debug, Default)]
pub struct Trace<T> {
    stages: Vec<(String, Array2<T>)>,
}

impl<T: Clone> Trace<T> {
    /// An empty trace.
    pub fn new() -> Self {
        Trace { stages: Vec::new() }
    }
    /// Record a stage.
    pub fn push(&mut self, name: impl Into<String>, value: Array2<T>) {
        self.stages.push((name.into(), value));
    }
    /// The stage called `name` (the first one if repeated).
    pub fn get(&self, name: &str) -> Option<&Array2<T>> {
        self.stages.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    /// All stages in execution order.
    pub fn stages(&self) -> &[(String, Array2<T>)] {
        &self.stages
    }
}

impl<T: PartialEq + Clone> Trace<T> {
    /// The first stage (in execution order of `self`) whose value differs from `other`'s, with the
    /// row-major flat index of the first differing element (or `None` for a shape/absence mismatch).
    pub fn first_difference(&self, other: &Trace<T>) -> Option<(String, Option<usize>)> {
        for (name, a) in &self.stages {
            match other.get(name) {
                Some(b) if a.shape() == b.shape() => {
                    if let Some(i) = a.iter().zip(b.iter()).position(|(x, y)| x != y) {
                        return Some((name.clone(), Some(i)));
                    }
                }
                _ => return Some((name.clone(), None)),
            }
        }
        None
    }
}

/// Record into an optional trace, building the value only when tracing.
pub(crate) fn record<T: Clone>(
    t: &mut Option<&mut Trace<T>>,
    name: impl FnOnce() -> String,
    v: impl FnOnce() -> Array2<T>,
) {
    if let Some(t) = t.as_deref_mut() {
        t.push(name(), v());
    }
}
