//! Python `bytes` built from Rust buffers with exactly one copy. (`PyBytes::new_with` zeroes
//! the new object first: for a 200 KiB body that memset is as costly as the copy itself.)

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A `bytes` holding `pieces` one after the other.
pub fn from_pieces<'py>(py: Python<'py>, pieces: &[&[u8]]) -> PyResult<Bound<'py, PyBytes>> {
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    let size = pyo3::ffi::Py_ssize_t::try_from(len).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("body too large for bytes"))?;
    unsafe {
        // NULL data: an uninitialised object of that size, which is filled right here before
        // anything else can see it.
        let obj = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        let mut dst = pyo3::ffi::PyBytes_AsString(obj).cast::<u8>();
        for p in pieces {
            std::ptr::copy_nonoverlapping(p.as_ptr(), dst, p.len());
            dst = dst.add(p.len());
        }
        Ok(Bound::from_owned_ptr(py, obj).cast_into_unchecked())
    }
}
