//! PyTorch weights into a Burn module, by name.
//!
//! A parameter's name is its path of field names (`blocks.0.attn.qkv.weight`),
//! with LayerNorm's and BatchNorm's `gamma`/`beta` called `weight`/`bias` as
//! in PyTorch (BatchNorm's running statistics keep their names); a
//! `Linear` weight is transposed (PyTorch stores `[out, in]`, Burn
//! `[in, out]`). Convolutions share PyTorch's layout. The tensors come from
//! `actionbench_formats::torch` (a `torch.save` archive read without running
//! anything); this module does not read files.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// One PyTorch tensor: name, shape, row-major values.
pub type TorchParam = (String, Vec<usize>, Vec<f32>);

/// What did not match between a checkpoint and a module.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    /// Module parameters the checkpoint has no tensor for.
    pub missing: Vec<String>,
    /// Checkpoint tensors no parameter takes.
    pub unexpected: Vec<String>,
    /// `(name, checkpoint shape in Burn's layout, parameter shape)`.
    pub misshaped: Vec<(String, Vec<usize>, Vec<usize>)>,
    /// Parameters set from the checkpoint.
    pub loaded: usize,
}

impl ImportReport {
    /// Whether every parameter was loaded and every tensor used.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.misshaped.is_empty()
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} parameters loaded", self.loaded)?;
        if !self.missing.is_empty() {
            write!(f, "; missing from the checkpoint: {}", self.missing.join(", "))?;
        }
        if !self.unexpected.is_empty() {
            write!(f, "; unexpected in the checkpoint: {}", self.unexpected.join(", "))?;
        }
        for (name, got, want) in &self.misshaped {
            write!(f, "; `{name}` has shape {got:?} in the checkpoint but {want:?} in the model")?;
        }
        Ok(())
    }
}

/// Sets `module`'s parameters from `tensors`; parameters whose name starts
/// with one of `keep` are left as they are when their shape differs (a
/// classification head re-initialised for other classes). Returns the module
/// and what matched.
pub fn load_torch<B: Backend, M: Module<B>>(module: M, tensors: Vec<TorchParam>, keep: &[&str]) -> (M, ImportReport) {
    let mut loader = Loader::<B> {
        tensors: tensors.into_iter().map(|(n, s, d)| (n, (s, d))).collect(),
        path: Vec::new(),
        owners: Vec::new(),
        keep: keep.iter().map(|s| s.to_string()).collect(),
        report: ImportReport::default(),
        backend: std::marker::PhantomData,
    };
    let module = module.map(&mut loader);
    let mut report = loader.report;
    report.unexpected = loader.tensors.into_keys().collect();
    (module, report)
}

struct Loader<B> {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    path: Vec<String>,
    owners: Vec<String>,
    keep: Vec<String>,
    report: ImportReport,
    backend: std::marker::PhantomData<B>,
}

impl<B: Backend> ModuleMapper<B> for Loader<B> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.owners.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.owners.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let owner = self.owners.last().map(String::as_str).unwrap_or("");
        let mut names = self.path.clone();
        if (owner == "Struct:LayerNorm" || owner == "Struct:BatchNorm")
            && let Some(last) = names.last_mut()
        {
            match last.as_str() {
                "gamma" => *last = "weight".into(),
                "beta" => *last = "bias".into(),
                _ => {}
            }
        }
        let name = names.join(".");
        let transpose = owner == "Struct:Linear" && names.last().is_some_and(|n| n == "weight");
        let (id, tensor, mapper) = param.consume();
        let want = tensor.dims().to_vec();
        let Some((shape, data)) = self.tensors.remove(&name) else {
            self.report.missing.push(name);
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let (shape, data) = match (transpose, shape.as_slice()) {
            (true, &[rows, cols]) => {
                let mut t = vec![0f32; data.len()];
                for r in 0..rows {
                    for c in 0..cols {
                        t[c * rows + r] = data[r * cols + c];
                    }
                }
                (vec![cols, rows], t)
            }
            _ => (shape, data),
        };
        if shape != want {
            if !self.keep.iter().any(|k| name.starts_with(k.as_str())) {
                self.report.misshaped.push((name, shape, want));
            }
            return Param::from_mapped_value(id, tensor, mapper);
        }
        self.report.loaded += 1;
        let loaded = keep_grad(&tensor, Tensor::<B, D>::from_data(TensorData::new(data, shape), &tensor.device()));
        Param::from_mapped_value(id, loaded, mapper)
    }
}

/// `into` with the values of `from`'s tensors (parameters and running
/// statistics), keeping `into`'s parameter ids and running-state cells: a
/// copy that trains apart from the original (a clone would share both).
/// The two modules must have the same structure and shapes.
pub fn copy_weights<B: Backend, M: Module<B>>(from: &M, into: M) -> M {
    let mut collect = Collect(std::collections::VecDeque::new());
    from.visit(&mut collect);
    into.map(&mut Replace(collect.0))
}

struct Collect(std::collections::VecDeque<TensorData>);

impl<B: Backend> burn::module::ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push_back(param.val().into_data());
    }
}

struct Replace(std::collections::VecDeque<TensorData>);

impl<B: Backend> ModuleMapper<B> for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let data = self.0.pop_front().expect("copy_weights: the modules have the same structure");
        assert_eq!(data.shape, tensor.shape(), "copy_weights: the modules have the same shapes");
        let value = keep_grad(&tensor, Tensor::<B, D>::from_data(data, &tensor.device()));
        Param::from_mapped_value(id, value, mapper)
    }
}

/// `value`, tracked by autodiff when `old` was: a tensor made from data is
/// not, and `Param::from_mapped_value` takes the flag from the new value,
/// so without this a loaded parameter would silently stop training.
fn keep_grad<B: Backend, const D: usize>(old: &Tensor<B, D>, value: Tensor<B, D>) -> Tensor<B, D> {
    if old.is_require_grad() { value.require_grad() } else { value }
}
