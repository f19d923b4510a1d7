//! Floats that come back from a checkpoint's `state.json` bit for bit.
//!
//! serde_json writes the shortest text that reads back as the same f64,
//! but without its `float_roundtrip` feature it reads some of them one ULP
//! off (an epoch's mean loss came back as 1.098295360803604 for
//! 1.0982953608036041). Enabling that feature would rebuild every crate of
//! the workspace that uses serde_json; the few checkpoint fields that carry
//! floats into a resumed run (logged metrics, the epoch's loss sum, DWA's
//! loss history) are written as strings instead and parsed by the standard
//! library, whose parsing is exact. Numbers are still read, so older
//! checkpoints resume.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One f64: its `{:?}` text (`1.5`, `1e-300`, `NaN`, `inf`), or a number.
#[derive(Clone, Copy)]
struct Exact(f64);

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:?}", self.0))
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Text(String),
            Number(f64),
        }
        match Stored::deserialize(d)? {
            Stored::Number(v) => Ok(Exact(v)),
            Stored::Text(t) => {
                t.parse().map(Exact).map_err(|_| serde::de::Error::custom(format!("{t:?} is not a float")))
            }
        }
    }
}

/// `#[serde(with = "crate::exact::f64")]`.
pub(crate) mod f64 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        Exact(*v).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Exact::deserialize(d)?.0)
    }
}

/// `#[serde(with = "crate::exact::option")]`.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Exact).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Exact>::deserialize(d)?.map(|e| e.0))
    }
}

/// `#[serde(with = "crate::exact::vec")]`.
pub(crate) mod vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| Exact(x)))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Exact>::deserialize(d)?.into_iter().map(|e| e.0).collect())
    }
}

/// `#[serde(with = "crate::exact::vec_vec")]`.
pub(crate) mod vec_vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|row| row.iter().map(|&x| Exact(x)).collect::<Vec<_>>()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
        Ok(Vec::<Vec<Exact>>::deserialize(d)?.into_iter().map(|row| row.into_iter().map(|e| e.0).collect()).collect())
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Row {
        #[serde(with = "super::f64")]
        a: f64,
        #[serde(with = "super::option")]
        b: Option<f64>,
        #[serde(with = "super::vec")]
        c: Vec<f64>,
        #[serde(with = "super::vec_vec")]
        d: Vec<Vec<f64>>,
    }

    /// A value serde_json alone reads back one ULP off comes back exactly,
    /// and a checkpoint written with plain numbers still reads.
    #[test]
    fn floats_round_trip_bit_for_bit() {
        let hard = 1.0982953608036041_f64;
        let row = Row { a: hard, b: Some(1e-300), c: vec![f64::INFINITY, -0.0, 0.1], d: vec![vec![hard], vec![]] };
        let text = serde_json::to_string(&row).unwrap();
        let back: Row = serde_json::from_str(&text).unwrap();
        assert_eq!(back.a.to_bits(), hard.to_bits());
        assert_eq!(back.c[1].to_bits(), (-0.0_f64).to_bits());
        assert_eq!(back, row, "{text}");
        let nan: Row = serde_json::from_str(r#"{"a": "NaN", "b": null, "c": [], "d": []}"#).unwrap();
        assert!(nan.a.is_nan() && nan.b.is_none());
        let old: Row = serde_json::from_str(r#"{"a": 2.5, "b": 1, "c": [0.5], "d": [[1.0]]}"#).unwrap();
        assert_eq!(old, Row { a: 2.5, b: Some(1.0), c: vec![0.5], d: vec![vec![1.0]] });
        let err = serde_json::from_str::<Row>(r#"{"a": "two", "b": null, "c": [], "d": []}"#).unwrap_err();
        assert!(err.to_string().contains("not a float"), "{err}");
    }
}
