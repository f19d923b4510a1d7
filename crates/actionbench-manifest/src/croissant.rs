//! The MLCommons Croissant 1.0 description of a manifest version
//! (`vN.jsonld`): the JSON-LD that Hugging Face, Kaggle and OpenML publish,
//! so dataset tools read our manifests without us. One `FileObject` (the
//! Parquet file, with its SHA-256) and one `RecordSet` whose fields are its
//! columns.

use serde_json::{Value, json};

use crate::read::ManifestMeta;

/// The JSON-LD context every Croissant 1.0 file starts with.
fn context() -> Value {
    json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "equivalentProperty": "cr:equivalentProperty",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform"
    })
}

/// Croissant's type of an Arrow type (as `ManifestMeta::schema` writes it).
fn data_type(arrow: &str) -> &'static str {
    match arrow {
        "Int64" | "UInt64" | "Int32" | "UInt32" => "sc:Integer",
        "Float64" | "Float32" => "sc:Float",
        "Boolean" => "sc:Boolean",
        _ => "sc:Text",
    }
}

/// What each fixed column means, for the field descriptions.
fn describe(column: &str) -> String {
    match column {
        "sample_id" => "The sample's id (unique).".into(),
        "label" => "Class index.".into(),
        "root" => "Name of the data root the source file is under (see the version's TOML for where it was).".into(),
        "path" => "Source file, relative to its data root.".into(),
        "blake3" => "blake3 of the source file.".into(),
        "size" => "Size of the source file in bytes.".into(),
        "frame_start" => "First frame of the sample in the source file.".into(),
        "frame_end" => "One past the last frame of the sample.".into(),
        "shard" => "The Parquet shard of the producing stage that holds the sample.".into(),
        "row" => "Its row in that shard.".into(),
        split => format!("Split membership `{split}` (train / val / test)."),
    }
}

/// The Croissant document of `meta`.
pub(crate) fn croissant(meta: &ManifestMeta) -> Value {
    let file_id = meta.parquet.clone();
    let fields: Vec<Value> = meta
        .schema
        .iter()
        .map(|(column, arrow)| {
            json!({
                "@type": "cr:Field",
                "@id": format!("samples/{column}"),
                "name": column,
                "description": describe(column),
                "dataType": data_type(arrow),
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": column}}
            })
        })
        .collect();
    let description = if meta.description.is_empty() {
        format!(
            "{} samples of `{}.{}` ({}), published with actionbench",
            meta.rows, meta.producer.pipeline, meta.producer.stage, meta.producer.kind
        )
    } else {
        meta.description.clone()
    };
    let mut doc = json!({
        "@context": context(),
        "@type": "sc:Dataset",
        "name": meta.name,
        "description": description,
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "url": format!("manifests/{}/v{}.jsonld", meta.name, meta.version),
        "version": format!("{}.0.0", meta.version),
        "datePublished": meta.created.replace(' ', "T"),
        "distribution": [{
            "@type": "cr:FileObject",
            "@id": file_id,
            "name": file_id,
            "description": "One row per sample.",
            "contentUrl": meta.parquet,
            "encodingFormat": "application/x-parquet",
            "sha256": meta.parquet_sha256
        }],
        "recordSet": [{
            "@type": "cr:RecordSet",
            "@id": "samples",
            "name": "samples",
            "description": "The samples of the dataset, with where their source files are.",
            "key": {"@id": "samples/sample_id"},
            "field": fields
        }]
    });
    if !meta.licence.is_empty() {
        doc["license"] = json!(meta.licence);
    }
    if !meta.citation.is_empty() {
        doc["citeAs"] = json!(meta.citation);
    }
    doc
}
