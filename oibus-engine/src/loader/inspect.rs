//! Static checks on a library file before the system loader ever sees it. `dlopen` runs a
//! library's constructors, and on a truncated file can map segments past its end and crash the
//! process later. So the file must be complete, for this machine, and carry a readable
//! declaration: all read from its bytes, with none of its code run.

use super::error::LoadError;
use object::{
    Architecture, BinaryFormat, Object, ObjectKind, ObjectSection, ObjectSegment, ObjectSymbol,
    SectionKind,
};
use oibus_plugin_api::ffi::{DECLARATION_SYMBOL, PLUGIN_MAGIC, PluginDeclaration};
use std::path::Path;

/// File extensions treated as plugin libraries.
pub const LIBRARY_EXTENSIONS: &[&str] = &["so", "dll", "dylib"];

fn host_format() -> BinaryFormat {
    if cfg!(target_os = "windows") {
        BinaryFormat::Pe
    } else if cfg!(target_vendor = "apple") {
        BinaryFormat::MachO
    } else {
        BinaryFormat::Elf
    }
}

fn host_architecture() -> Option<Architecture> {
    Some(match std::env::consts::ARCH {
        "x86_64" => Architecture::X86_64,
        "aarch64" => Architecture::Aarch64,
        "x86" => Architecture::I386,
        "arm" => Architecture::Arm,
        "riscv64" => Architecture::Riscv64,
        _ => return None,
    })
}

/// Checks that `bytes` (the content of `file`) is a complete dynamic library for this machine.
pub fn check_library(file: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    check_library_data(file, bytes, bytes.len() as u64, true)
}

/// The file behind `file`, read through a cache (only what the parser asks for), and its length.
fn open_cached(file: &Path) -> Result<(object::ReadCache<std::fs::File>, u64), LoadError> {
    let io = |source| LoadError::Io {
        file: file.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(file).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    Ok((object::ReadCache::new(f), len))
}

/// Checks that the file behind `file` is a complete dynamic library for this machine, reading
/// only its headers.
pub fn check_library_file(file: &Path) -> Result<(), LoadError> {
    let (cache, len) = open_cached(file)?;
    check_library_data(file, &cache, len, true)
}

/// Reads the plugin declaration of the library `file` from its bytes: the exported symbol
/// `oibus_plugin_declaration` must exist, lie in a data section with file content, have the
/// declaration's size (where the format records sizes) and start with the plugin magic. With
/// `complete`, first checks (as [`check_library_file`]) that it is a complete library for this
/// machine, from the same read of the file. Only a file that passes is ever opened by the
/// system loader.
pub fn read_declaration_file(file: &Path, complete: bool) -> Result<PluginDeclaration, LoadError> {
    let (cache, len) = open_cached(file)?;
    if complete {
        check_library_data(file, &cache, len, true)?;
    }
    read_declaration(file, &cache)
}

/// Reads the declaration of a whole plugin file built for any platform the engine ships for (what
/// `oibus plugins sign` needs: a vendor signs its Linux, ARM64 and Windows files on one machine).
/// The file is checked as [`read_declaration_file`] checks it, but for being this machine's.
pub fn read_declaration_file_any_platform(file: &Path) -> Result<PluginDeclaration, LoadError> {
    let (cache, len) = open_cached(file)?;
    check_library_data(file, &cache, len, false)?;
    read_declaration(file, &cache)
}

fn read_declaration<'d, R: object::ReadRef<'d>>(
    file: &Path,
    bytes: R,
) -> Result<PluginDeclaration, LoadError> {
    let bad = |reason: String| LoadError::BadDeclaration {
        file: file.to_path_buf(),
        reason,
    };
    let obj = object::File::parse(bytes).map_err(|e| LoadError::NotALibrary {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let wanted = DECLARATION_SYMBOL.as_bytes();
    // Mach-O prefixes C symbols with `_`.
    let is_ours = |name: &[u8]| name == wanted || name.strip_prefix(b"_") == Some(wanted);
    let export = obj
        .exports()
        .map_err(|e| bad(format!("cannot read the exported symbols: {e}")))?
        .filter_map(|e| e.ok())
        .find(|e| matches!(e.name(), object::NameOrOrdinal::Name(n) if is_ours(n)))
        .ok_or_else(|| LoadError::NotAPlugin {
            file: file.to_path_buf(),
        })?;
    let object::ExportTarget::Address { address } = export.target() else {
        return Err(bad(format!(
            "symbol {DECLARATION_SYMBOL} is not an address in the library (absolute or re-exported)"
        )));
    };
    let size = std::mem::size_of::<PluginDeclaration>() as u64;
    // ELF records each symbol's size: it must be the declaration's.
    if let Some(sym) = obj
        .dynamic_symbols()
        .find(|s| s.name_bytes().is_ok_and(is_ours) && s.address() == address)
        && sym.size() != 0
        && sym.size() != size
    {
        return Err(bad(format!(
            "symbol {DECLARATION_SYMBOL} is {} bytes, a declaration is {size}",
            sym.size()
        )));
    }
    let section = obj
        .sections()
        .find(|s| address >= s.address() && address.saturating_add(size) <= s.address() + s.size())
        .ok_or_else(|| {
            bad(format!(
                "symbol {DECLARATION_SYMBOL} at {address:#x} is in no section of the file"
            ))
        })?;
    let name = section.name().unwrap_or("?").to_string();
    match section.kind() {
        SectionKind::Data
        | SectionKind::ReadOnlyData
        | SectionKind::ReadOnlyDataWithRel
        | SectionKind::ReadOnlyString => {}
        kind => {
            return Err(bad(format!(
                "symbol {DECLARATION_SYMBOL} lies in section {name} ({kind:?}), not in data"
            )));
        }
    }
    let data = section
        .data_range(address, size)
        .map_err(|e| bad(format!("section {name}: {e}")))?
        .ok_or_else(|| {
            bad(format!(
                "symbol {DECLARATION_SYMBOL} runs past section {name}"
            ))
        })?;
    if data.len() as u64 != size {
        return Err(bad(format!(
            "section {name} holds {} bytes of it",
            data.len()
        )));
    }
    // SAFETY: `data` is exactly one declaration's bytes; every bit pattern is a valid
    // `PluginDeclaration` (byte arrays and integers only, no pointers), read unaligned.
    let declaration: PluginDeclaration =
        unsafe { std::ptr::read_unaligned(data.as_ptr().cast::<PluginDeclaration>()) };
    if declaration.magic != PLUGIN_MAGIC {
        return Err(bad(
            "its `oibus_plugin_declaration` does not start with the oibus plugin magic (not an \
             oibus plugin, or a damaged one)"
                .into(),
        ));
    }
    if declaration.declaration_version != 1 {
        return Err(bad(format!(
            "declaration layout version {}, this engine reads 1",
            declaration.declaration_version
        )));
    }
    for (what, text) in [
        ("plugin id", &declaration.plugin_id[..]),
        ("plugin version", &declaration.plugin_version[..]),
    ] {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        if end == 0 || std::str::from_utf8(&text[..end]).is_err() {
            return Err(bad(format!("the {what} is empty or not UTF-8")));
        }
    }
    Ok(declaration)
}

fn check_library_data<'d, R: object::ReadRef<'d>>(
    file: &Path,
    bytes: R,
    len: u64,
    this_platform: bool,
) -> Result<(), LoadError> {
    let obj = object::File::parse(bytes).map_err(|e| {
        let reason = e.to_string();
        // A recognisable header whose tables run past the end: the file was cut short.
        if object::FileKind::parse(bytes).is_ok() {
            LoadError::Truncated {
                file: file.to_path_buf(),
                reason: format!("{reason} ({len} bytes)"),
            }
        } else {
            LoadError::NotALibrary {
                file: file.to_path_buf(),
                reason: format!("unrecognised file format ({reason})"),
            }
        }
    })?;
    if this_platform && obj.format() != host_format() {
        return Err(LoadError::WrongPlatform {
            file: file.to_path_buf(),
            found: format!("{:?}", obj.format()),
            expected: format!("{:?}", host_format()),
        });
    }
    if let Some(arch) = host_architecture().filter(|_| this_platform)
        && obj.architecture() != arch
    {
        return Err(LoadError::WrongPlatform {
            file: file.to_path_buf(),
            found: format!("{:?}", obj.architecture()),
            expected: format!("{arch:?}"),
        });
    }
    if obj.kind() != ObjectKind::Dynamic {
        return Err(LoadError::NotALibrary {
            file: file.to_path_buf(),
            reason: format!("a {:?} object, not a shared library", obj.kind()),
        });
    }
    let past_end = |(offset, size): (u64, u64)| offset.saturating_add(size) > len;
    for segment in obj.segments() {
        if past_end(segment.file_range()) {
            let (offset, size) = segment.file_range();
            return Err(LoadError::Truncated {
                file: file.to_path_buf(),
                reason: format!(
                    "a segment needs bytes {offset}..{} but the file has {len}",
                    offset + size
                ),
            });
        }
    }
    for section in obj.sections() {
        if let Some(range) = section.file_range()
            && past_end(range)
        {
            return Err(LoadError::Truncated {
                file: file.to_path_buf(),
                reason: format!(
                    "section {} needs bytes {}..{} but the file has {len}",
                    section.name().unwrap_or("?"),
                    range.0,
                    range.0 + range.1
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_are_not_a_library() {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let e = check_library(Path::new("x.so"), &bytes).unwrap_err();
        assert!(matches!(e, LoadError::NotALibrary { .. }), "{e}");
        assert!(
            e.to_string().starts_with("x.so: not a shared library"),
            "{e}"
        );
    }

    #[test]
    fn empty_file_is_not_a_library() {
        let e = check_library(Path::new("empty.so"), &[]).unwrap_err();
        assert!(matches!(e, LoadError::NotALibrary { .. }), "{e}");
    }

    #[test]
    fn the_test_binary_is_not_a_shared_library_or_is_complete() {
        // The running test executable is a complete object of the host's platform.
        let exe = std::env::current_exe().unwrap();
        let bytes = std::fs::read(&exe).unwrap();
        match check_library(&exe, &bytes) {
            Ok(()) => {}
            Err(LoadError::NotALibrary { reason, .. }) => {
                assert!(reason.contains("Executable"), "{reason}")
            }
            Err(e) => panic!("unexpected: {e}"),
        }
        // Cut it in half: now it is truncated.
        let e = check_library(&exe, &bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(e, LoadError::Truncated { .. }), "{e}");
    }
}
