//! Run-time side of [`crate::VerilatorBuild::load`]: a model built as a shared library, opened
//! with `libloading` (the maintained wrapper of `dlopen`; hand-written `dlopen` calls would
//! need their own unsafe error plumbing) and described by the same [`ModelVTable`] that a
//! build script's glue defines, so [`crate::Model`] drives both alike.

use std::ffi::c_void;
use std::path::Path;

use libloading::Library;

use crate::{Error, ModelVTable, PortInfo};

/// Opens `lib` and looks up module `top`'s C ABI. The library is never closed: the vtable's
/// function pointers must outlive every [`crate::Model`], and a test process loads a model
/// once.
pub(crate) fn open(
    top: &str,
    lib: &Path,
    ports: Vec<PortInfo>,
) -> Result<&'static ModelVTable, Error> {
    let load_error = |e: libloading::Error| Error::Load(lib.to_path_buf(), e.to_string());
    // SAFETY: the library is one this crate built from Verilator's output and the generated
    // wrapper; its initialisers are the C++ runtime's and the model's static constructors.
    let library: &'static Library =
        Box::leak(Box::new(unsafe { Library::new(lib) }.map_err(load_error)?));
    macro_rules! symbol {
        ($suffix:literal, $ty:ty) => {{
            let name = format!("tgv_{top}_{}\0", $suffix);
            // SAFETY: the wrapper defines this symbol with exactly this signature
            // (`wrapper_cpp` in build.rs); the library is never unloaded.
            *unsafe { library.get::<$ty>(name.as_bytes()) }.map_err(load_error)?
        }};
    }
    Ok(Box::leak(Box::new(ModelVTable {
        name: Box::leak(top.to_owned().into_boxed_str()),
        new: symbol!("new", unsafe extern "C" fn() -> *mut c_void),
        free: symbol!("free", unsafe extern "C" fn(*mut c_void)),
        eval: symbol!("eval", unsafe extern "C" fn(*mut c_void)),
        set: symbol!("set", unsafe extern "C" fn(*mut c_void, u32, *const u32)),
        get: symbol!("get", unsafe extern "C" fn(*mut c_void, u32, *mut u32)),
        ports: Box::leak(ports.into_boxed_slice()),
    })))
}
