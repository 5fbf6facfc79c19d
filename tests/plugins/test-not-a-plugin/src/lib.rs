//! Test fixture: a valid shared library with no oibus plugin declaration. The loader must refuse
//! it as "not an oibus plugin" without crashing.

/// Adds two numbers; exists only so the library exports something.
#[unsafe(no_mangle)]
pub extern "C" fn oibus_fixture_add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}
