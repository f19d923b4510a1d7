//! How the clip tables of `ingest.video` and `ingest.renders` store RGB
//! frames.

use std::sync::Arc;

use actionbench_shards::tensor::variable_shape_tensor_field;
use actionbench_stages::ingest::BoxError;
use actionbench_stages::sample_format::Columns;
use actionbench_video::ClipFrames;
use arrow::array::{BinaryBuilder, ListBuilder};
use arrow::datatypes::{DataType, Field, UInt8Type};
use serde::{Deserialize, Serialize};

/// The `frames` param: JPEG files or raw RGB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FramesParam {
    #[default]
    Jpeg,
    Raw,
}

/// Adds the RGB column `name`: each clip's JPEG files as list<binary>, or
/// its raw pixels as a uint8 `[T, H, W, 3]` tensor. `clip` gives a row's
/// frames, height and width.
pub(crate) fn rgb_column<S: 'static>(
    columns: Columns<S>,
    name: &str,
    format: FramesParam,
    clip: fn(&S) -> (&ClipFrames, usize, usize),
) -> Result<Columns<S>, BoxError> {
    Ok(match format {
        FramesParam::Jpeg => columns.column(
            Field::new(name, DataType::List(Arc::new(Field::new_list_field(DataType::Binary, true))), false),
            move |rows| {
                let mut b = ListBuilder::new(BinaryBuilder::new());
                for row in rows {
                    if let (ClipFrames::Jpeg(files), _, _) = clip(row) {
                        for f in files {
                            b.values().append_value(f);
                        }
                    }
                    b.append(true);
                }
                Ok(Arc::new(b.finish()))
            },
        ),
        FramesParam::Raw => columns.tensor::<UInt8Type, _>(
            variable_shape_tensor_field(
                name,
                DataType::UInt8,
                4,
                Some(["frame", "height", "width", "channel"].map(String::from).to_vec()),
                Some(vec![None, None, None, Some(3)]),
            )?,
            4,
            move |row| {
                let (frames, h, w) = clip(row);
                let data = match frames {
                    ClipFrames::Raw(bytes) => bytes.as_slice(),
                    ClipFrames::Jpeg(_) => &[],
                };
                ([data.len() / (w * h * 3).max(1), h, w, 3], data)
            },
        ),
    })
}
