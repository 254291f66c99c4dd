//! Python objects <-> JSON/CBOR without an intermediate value tree: serialisation walks the
//! Python object with serde's `Serialize`; decoding builds Python objects straight from the
//! parser through a serde `Visitor`. The same code serves serde_json and ciborium.

use std::cell::RefCell;
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

/// Dict keys already built for this document, found again by their text: API responses repeat
/// the same few keys in every object, and reusing one str (as json.loads does) saves creating
/// it, hashing it on insertion (a str caches its hash) and freeing it. An open-addressed table
/// of byte indexes into `entries` (0: free), small enough to clear for every document; probing
/// stops after PROBES slots and at most 255 keys are kept, so a key that finds no room is just
/// built anew and a lookup stays cheap whatever keys a server sends.
struct KeyCache<'de, 'py> {
    slots: [u8; KEY_SLOTS],
    entries: Vec<(&'de str, Bound<'py, PyString>)>,
    /// A float came out that may have been an integer too large for 64 bits (serde_json
    /// parses those as floats): see `from_json`.
    maybe_big_int: bool,
}

const KEY_SLOTS: usize = 256;
const PROBES: usize = 4;

impl<'de, 'py> KeyCache<'de, 'py> {
    fn new() -> Self {
        KeyCache { slots: [0; KEY_SLOTS], entries: Vec::new(), maybe_big_int: false }
    }

    #[inline(always)]
    fn get(&mut self, py: Python<'py>, key: &'de str) -> Bound<'py, PyString> {
        let start = key_hash(key.as_bytes());
        for i in 0..PROBES {
            let slot = (start + i) % KEY_SLOTS;
            match self.slots[slot] {
                0 if self.entries.len() < usize::from(u8::MAX) => {
                    let obj = PyString::new(py, key);
                    self.entries.push((key, obj.clone()));
                    self.slots[slot] = self.entries.len() as u8;
                    return obj;
                }
                0 => break,
                n => {
                    let (k, obj) = &self.entries[usize::from(n) - 1];
                    if same(k.as_bytes(), key.as_bytes()) {
                        return obj.clone();
                    }
                }
            }
        }
        PyString::new(py, key)
    }
}

/// `a == b` for short keys without a call to memcmp: two overlapping word reads.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let u64_at = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
    let u32_at = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap());
    match n {
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        4..=7 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// A slot index from the key's bytes: FxHash-style multiply mixing of little-endian words (the
/// last one overlapping, short keys read as two overlapping u32 or three bytes), taking the top
/// bits of the product. A weak hash only costs cache misses, never a wrong key.
fn key_hash(b: &[u8]) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let n = b.len();
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let u32_at = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
    let mut h = (n as u64).wrapping_mul(K);
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            h = (h ^ u64_at(i)).wrapping_mul(K);
            i += 8;
        }
        h = (h ^ u64_at(n - 8)).wrapping_mul(K);
    } else if n >= 4 {
        h = (h ^ (u32_at(0) << 32 | u32_at(n - 4))).wrapping_mul(K);
    } else if n > 0 {
        h = (h ^ (u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16)).wrapping_mul(K);
    }
    (h >> (64 - KEY_SLOTS.trailing_zeros())) as usize
}

/// Builds Python objects while the parser runs.
#[derive(Clone, Copy)]
struct PyBuild<'a, 'de, 'py> {
    py: Python<'py>,
    keys: &'a RefCell<KeyCache<'de, 'py>>,
}

impl<'de, 'py> DeserializeSeed<'de> for PyBuild<'_, 'de, 'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A dict key: a str from the parser (serde_json's map keys are always strings).
struct PyKey<'a, 'de, 'py>(PyBuild<'a, 'de, 'py>);

impl<'de, 'py> DeserializeSeed<'de> for PyKey<'_, 'de, 'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'py> Visitor<'de> for PyKey<'_, 'de, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    /// Text borrowed from the document (no escapes): it lives as long as the cache.
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(self.0.keys.borrow_mut().get(self.0.py, v).into_any())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(PyString::new(self.0.py, v).into_any())
    }
}

impl<'de, 'py> Visitor<'de> for PyBuild<'_, 'de, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON or CBOR value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.py).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.py).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.py).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Self::Value, E> {
        v.into_pyobject(self.py).map(|o| o.into_any()).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        // Integers beyond i64/u64 arrive here as whole floats of at least 2^63.
        if v.abs() >= 9.2e18 && v.fract() == 0.0 {
            self.keys.borrow_mut().maybe_big_int = true;
        }
        Ok(PyFloat::new(self.py, v).into_any())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Self::Value, E> {
        Ok(PyBytes::new(self.py, v).into_any())
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(v) = seq.next_element_seed(self)? {
            // The C call directly: pyo3's append/set_item cost ~8,000 more instructions on a
            // 10 KB document. SAFETY: both are live objects; neither call steals a reference.
            if unsafe { pyo3::ffi::PyList_Append(list.as_ptr(), v.as_ptr()) } < 0 {
                return Err(de::Error::custom(PyErr::fetch(self.py)));
            }
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(k) = map.next_key_seed(PyKey(self))? {
            let v = map.next_value_seed(self)?;
            // SAFETY: as in visit_seq; `k` and `v` are released when dropped.
            if unsafe { pyo3::ffi::PyDict_SetItem(dict.as_ptr(), k.as_ptr(), v.as_ptr()) } < 0 {
                return Err(de::Error::custom(PyErr::fetch(self.py)));
            }
        }
        Ok(dict.into_any())
    }
}

/// The decoded document, and whether it may hold an integer serde_json could not keep exact.
fn decode<'de, 'py, R: serde_json::de::Read<'de>>(py: Python<'py>, read: R) -> serde_json::Result<(Bound<'py, PyAny>, bool)> {
    let keys = RefCell::new(KeyCache::new());
    let mut d = serde_json::Deserializer::new(read);
    let v = PyBuild { py, keys: &keys }.deserialize(&mut d)?;
    d.end()?;
    let big = keys.borrow().maybe_big_int;
    Ok((v, big))
}

pub fn from_json<'py>(py: Python<'py>, data: &[u8]) -> Result<Bound<'py, PyAny>> {
    // One UTF-8 check of the whole body is far cheaper than serde_json's check of each string
    // (from_slice); a body that is not UTF-8 takes the slice reader, which reports where.
    let v = match std::str::from_utf8(data) {
        Ok(text) => decode(py, serde_json::de::StrRead::new(text)),
        Err(_) => decode(py, serde_json::de::SliceRead::new(data)),
    };
    // An integer beyond 64 bits (a float to serde_json, or out of its range): Python's int has
    // no limit, and json.loads keeps it exact. Rare, so that document is parsed again by it.
    let big = match &v {
        Ok((_, big)) => *big,
        Err(e) => e.to_string().starts_with("number out of range"),
    };
    if big {
        if let Ok(exact) = py.import("json").and_then(|json| json.call_method1("loads", (PyBytes::new(py, data),))) {
            return Ok(exact);
        }
    }
    v.map(|(obj, _)| obj).map_err(|e| {
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
    if obj.is_instance_of::<pyo3::types::PyMemoryView>() {
        return obj.call_method0("tobytes").ok().and_then(|b| b.cast::<PyBytes>().ok().map(|b| Bytes::copy_from_slice(b.as_bytes())));
    }
    None
}
