//! Python `bytes` built from Rust buffers with exactly one copy. (`PyBytes::new_with` zeroes
//! the new object first: for a 200 KiB body that memset is as costly as the copy itself.)

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A `bytes` holding `pieces` one after the other.
pub fn from_pieces<'py>(py: Python<'py>, pieces: &[&[u8]]) -> PyResult<Bound<'py, PyBytes>> {
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    let (obj, mut dst) = unfilled(py, len)?;
    for p in pieces {
        // SAFETY: `dst` has room for all pieces; nothing else can see the object yet.
        unsafe {
            std::ptr::copy_nonoverlapping(p.as_ptr(), dst, p.len());
            dst = dst.add(p.len());
        }
    }
    Ok(obj)
}

/// A `bytes` of `len` bytes not yet filled, and where its bytes start. The caller fills them
/// all before the object is shared.
fn unfilled(py: Python<'_>, len: usize) -> PyResult<(Bound<'_, PyBytes>, *mut u8)> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("body too large for bytes"))?;
    unsafe {
        // NULL data: an uninitialised object of that size.
        let obj = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        let data = pyo3::ffi::PyBytes_AsString(obj).cast::<u8>();
        Ok((Bound::from_owned_ptr(py, obj).cast_into_unchecked(), data))
    }
}

/// A `bytes` object for a large response body to be read straight into, with the GIL released
/// while it is filled (as CPython's `socket.recv` does with the object it returns). Called on
/// a thread that has released the GIL: it takes it just long enough to make the object.
pub fn body_buffer(len: usize) -> Option<crate::response::Direct> {
    Python::attach(|py| {
        let (obj, data) = unfilled(py, len).ok()?;
        // SAFETY: `data` is the object's `len` bytes, which live as long as it does, and the
        // object is not shared before the body has filled them (`Response::from_data`).
        unsafe { crate::response::Direct::new(data, len, Box::new(obj.unbind())) }
    })
}
