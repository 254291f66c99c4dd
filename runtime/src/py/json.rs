//! Python objects <-> JSON/CBOR without an intermediate value tree: serialisation walks the
//! Python object with serde's `Serialize`; decoding builds Python objects straight from the
//! parser through a serde `Visitor`. The same code serves serde_json and ciborium.

use std::fmt;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::error::{Error, ErrorKind, Result};

const MAX_DEPTH: usize = 512;
const NOT_COMPLIANT: &str = "Out of range float values are not JSON compliant";

struct PySer<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    depth: usize,
    cbor: bool,
}

fn key_string(k: &Bound<'_, PyAny>) -> std::result::Result<String, String> {
    if let Ok(s) = k.cast::<PyString>() {
        return s.to_str().map(str::to_owned).map_err(|e| e.to_string());
    }
    if k.is_instance_of::<PyBool>() {
        return Ok(if k.is_truthy().unwrap_or(false) { "true" } else { "false" }.into());
    }
    if k.is_none() {
        return Ok("null".into());
    }
    if let Ok(f) = k.cast::<PyFloat>() {
        if !f.value().is_finite() {
            return Err(format!("{NOT_COMPLIANT}: {}", f.value()));
        }
    }
    // int.__repr__ / float.__repr__, not a subclass's __str__ (as json.dumps does).
    for builtin in [k.py().get_type::<PyInt>(), k.py().get_type::<PyFloat>()] {
        if k.is_instance(&builtin).unwrap_or(false) {
            return builtin.call_method1("__repr__", (k,)).and_then(|r| r.extract::<String>()).map_err(|e| e.to_string());
        }
    }
    Err(format!("keys must be str, int, float, bool or None, not {}", type_name(k)))
}

fn type_name(o: &Bound<'_, PyAny>) -> String {
    o.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

impl<'py> PySer<'_, 'py> {
    fn child<'b>(&self, obj: &'b Bound<'py, PyAny>) -> PySer<'b, 'py> {
        PySer { obj, depth: self.depth + 1, cbor: self.cbor }
    }
}

impl Serialize for PySer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let o = self.obj;
        if self.depth > MAX_DEPTH {
            return Err(ser::Error::custom("nesting too deep (or a reference cycle)"));
        }
        if let Ok(st) = o.cast::<PyString>() {
            return s.serialize_str(st.to_str().map_err(ser::Error::custom)?);
        }
        if o.is_none() {
            return s.serialize_unit();
        }
        if let Ok(b) = o.cast::<PyBool>() {
            return s.serialize_bool(b.is_true());
        }
        if o.is_instance_of::<PyInt>() {
            if let Ok(v) = o.extract::<i64>() {
                return s.serialize_i64(v);
            }
            if let Ok(v) = o.extract::<u64>() {
                return s.serialize_u64(v);
            }
            if let Ok(v) = o.extract::<i128>() {
                return s.serialize_i128(v);
            }
            return if self.cbor { big_int_cbor(o, s) } else { big_int_json(o, s) };
        }
        if let Ok(f) = o.cast::<PyFloat>() {
            let v = f.value();
            // As httpx (json.dumps(allow_nan=False)): NaN/Infinity are not JSON, and sending
            // `null` instead would silently change the data. CBOR represents them.
            if !v.is_finite() && !self.cbor {
                return Err(ser::Error::custom(format!("{NOT_COMPLIANT}: {v}")));
            }
            return s.serialize_f64(v);
        }
        if let Ok(d) = o.cast::<PyDict>() {
            let mut m = s.serialize_map(Some(d.len()))?;
            for (k, v) in d.iter() {
                m.serialize_entry(&key_string(&k).map_err(ser::Error::custom)?, &self.child(&v))?;
            }
            return m.end();
        }
        if let Ok(l) = o.cast::<PyList>() {
            let mut q = s.serialize_seq(Some(l.len()))?;
            for v in l.iter() {
                q.serialize_element(&self.child(&v))?;
            }
            return q.end();
        }
        if let Ok(t) = o.cast::<PyTuple>() {
            let mut q = s.serialize_seq(Some(t.len()))?;
            for v in t.iter() {
                q.serialize_element(&self.child(&v))?;
            }
            return q.end();
        }
        if self.cbor {
            if let Ok(b) = o.cast::<PyBytes>() {
                return s.serialize_bytes(b.as_bytes());
            }
        }
        Err(ser::Error::custom(format!("Object of type {} is not {} serializable", type_name(o), if self.cbor { "CBOR" } else { "JSON" })))
    }
}

/// Bytes serialised as a byte string (CBOR major type 2).
struct ByteStr<'a>(&'a [u8]);

impl Serialize for ByteStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Integers beyond 128 bits as CBOR bignums: tag 2 (n) or tag 3 (-1 - n), big-endian.
fn big_int_cbor<S: Serializer>(o: &Bound<'_, PyAny>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let err = |e: PyErr| ser::Error::custom(e.to_string());
    let negative = o.lt(0).map_err(err)?;
    let magnitude = if negative { o.neg().and_then(|n| n.call_method1("__sub__", (1,))).map_err(err)? } else { o.clone() };
    let nbytes = (magnitude.call_method0("bit_length").and_then(|b| b.extract::<usize>()).map_err(err)? + 7) / 8;
    let raw = magnitude.call_method1("to_bytes", (nbytes, "big")).map_err(err)?;
    let raw = raw.cast::<PyBytes>().map_err(|e| ser::Error::custom(e.to_string()))?.as_bytes();
    if negative {
        ciborium::tag::Required::<_, 3>(ByteStr(raw)).serialize(s)
    } else {
        ciborium::tag::Required::<_, 2>(ByteStr(raw)).serialize(s)
    }
}

/// Integers beyond 128 bits as exact JSON numbers (as Python's json module writes them).
fn big_int_json<S: Serializer>(o: &Bound<'_, PyAny>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let digits = o.str().map_err(|e| ser::Error::custom(e.to_string()))?.to_string();
    let raw = serde_json::value::RawValue::from_string(digits).map_err(ser::Error::custom)?;
    raw.serialize(s)
}

pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Bytes> {
    let mut out = Vec::with_capacity(128);
    serde_json::to_writer(&mut out, &PySer { obj, depth: 0, cbor: false }).map_err(|e| {
        let msg = e.to_string();
        if msg.contains(NOT_COMPLIANT) {
            Error::value(msg)
        } else {
            Error::type_error(msg)
        }
    })?;
    Ok(Bytes::from(out))
}

pub fn to_cbor(obj: &Bound<'_, PyAny>) -> Result<Bytes> {
    let mut out = Vec::with_capacity(128);
    ciborium::into_writer(&PySer { obj, depth: 0, cbor: true }, &mut out).map_err(|e| Error::type_error(e.to_string()))?;
    Ok(Bytes::from(out))
}

/// Builds Python objects while the parser runs.
#[derive(Clone, Copy)]
struct PyBuild<'py>(Python<'py>);

impl<'de, 'py> DeserializeSeed<'de> for PyBuild<'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for PyBuild<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON or CBOR value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(PyBool::new(self.0, v).to_owned().into_any())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.0).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.0).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.0).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.0).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(PyFloat::new(self.0, v).into_any())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(PyString::new(self.0, v).into_any())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Self::Value, E> {
        Ok(PyBytes::new(self.0, v).into_any())
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(v) = seq.next_element_seed(self)? {
            list.append(v).map_err(de::Error::custom)?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(k) = map.next_key_seed(self)? {
            let v = map.next_value_seed(self)?;
            dict.set_item(k, v).map_err(de::Error::custom)?;
        }
        Ok(dict.into_any())
    }
}

pub fn from_json<'py>(py: Python<'py>, data: &[u8]) -> Result<Bound<'py, PyAny>> {
    let mut d = serde_json::Deserializer::from_slice(data);
    let v = PyBuild(py).deserialize(&mut d).and_then(|v| d.end().map(|_| v));
    v.map_err(|e| {
        let pos = line_col_offset(data, e.line(), e.column());
        let mut err = Error::new(ErrorKind::JSONDecodeError, {
            // Python's JSONDecodeError appends the line, column and offset itself.
            let text = e.to_string();
            format!("response body is not valid JSON: {}", text.split(" at line ").next().unwrap_or(&text))
        });
        err.position = Some(pos);
        err.doc = Some(String::from_utf8_lossy(data).into_owned());
        err
    })
}

pub fn from_cbor<'py>(py: Python<'py>, data: &[u8]) -> Result<Bound<'py, PyAny>> {
    let value: ciborium::Value =
        ciborium::from_reader(data).map_err(|e| Error::new(ErrorKind::DecodingError, format!("response body is not valid CBOR: {e}")))?;
    cbor_to_py(py, value, 0).map_err(|e| Error::new(ErrorKind::DecodingError, format!("could not convert the CBOR body: {e}")))
}

fn cbor_to_py(py: Python<'_>, v: ciborium::Value, depth: usize) -> PyResult<Bound<'_, PyAny>> {
    use ciborium::Value as V;
    if depth > MAX_DEPTH {
        return Err(pyo3::exceptions::PyValueError::new_err("CBOR nesting too deep"));
    }
    Ok(match v {
        V::Integer(i) => i128::from(i).into_pyobject(py)?.into_any(),
        V::Bytes(b) => PyBytes::new(py, &b).into_any(),
        V::Float(f) => PyFloat::new(py, f).into_any(),
        V::Text(t) => PyString::new(py, &t).into_any(),
        V::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        V::Null => py.None().into_bound(py),
        V::Tag(tag @ (2 | 3), inner) if matches!(*inner, V::Bytes(_)) => {
            // Bignums: big-endian magnitude; tag 3 means -1 - n.
            let V::Bytes(b) = *inner else { unreachable!() };
            let n = py.get_type::<PyInt>().call_method1("from_bytes", (PyBytes::new(py, &b), "big"))?;
            if tag == 3 { n.neg()?.call_method1("__sub__", (1,))? } else { n }
        }
        V::Tag(_, inner) => cbor_to_py(py, *inner, depth + 1)?,
        V::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(cbor_to_py(py, item, depth + 1)?)?;
            }
            list.into_any()
        }
        V::Map(entries) => {
            let dict = PyDict::new(py);
            for (k, val) in entries {
                dict.set_item(cbor_to_py(py, k, depth + 1)?, cbor_to_py(py, val, depth + 1)?)?;
            }
            dict.into_any()
        }
        _ => py.None().into_bound(py),
    })
}

fn line_col_offset(data: &[u8], line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in data.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + col.saturating_sub(1);
        }
        offset += l.len() + 1;
    }
    data.len()
}

/// bytes-like arguments (bytes, bytearray, str) as Bytes.
pub fn bytes_like(obj: &Bound<'_, PyAny>) -> Option<Bytes> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Some(Bytes::copy_from_slice(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Some(Bytes::from(b.to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_str().ok().map(|s| Bytes::copy_from_slice(s.as_bytes()));
    }
    None
}
