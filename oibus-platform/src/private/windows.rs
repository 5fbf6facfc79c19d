//! Windows: a protected access list with one entry, the owner's, and owners by SID.

use std::{
    fs, io,
    os::windows::ffi::OsStrExt as _,
    path::Path,
    ptr::{null, null_mut},
};
use windows_sys::Win32::{
    Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, HLOCAL, LocalFree},
    Security::{
        ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, AddAccessAllowedAceEx,
        Authorization::{
            ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW,
        },
        CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, EqualSid, GetLengthSid,
        GetTokenInformation, InitializeAcl, IsWellKnownSid, OBJECT_INHERIT_ACE,
        OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
        PSID, TOKEN_QUERY, TOKEN_USER, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
    },
    Storage::FileSystem::FILE_ALL_ACCESS,
    System::Threading::{GetCurrentProcess, OpenProcessToken},
};

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain([0]).collect()
}

/// This process's user SID, as its bytes.
fn my_sid() -> io::Result<Vec<u8>> {
    let mut token: HANDLE = null_mut();
    // SAFETY: the pseudo-handle of this process needs no closing; `token` is closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buffer = vec![0u64; 64];
    let mut len = 0u32;
    // SAFETY: the buffer is 512 bytes, aligned for TOKEN_USER, and its length is given.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            (buffer.len() * 8) as u32,
            &mut len,
        )
    };
    let error = io::Error::last_os_error();
    // SAFETY: `token` was opened above.
    unsafe { CloseHandle(token) };
    if ok == 0 {
        return Err(error);
    }
    // SAFETY: GetTokenInformation wrote a TOKEN_USER whose SID points into the buffer.
    unsafe {
        let user = &*(buffer.as_ptr() as *const TOKEN_USER);
        Ok(sid_bytes(user.User.Sid))
    }
}

/// # Safety
/// `sid` points to a valid SID.
unsafe fn sid_bytes(sid: PSID) -> Vec<u8> {
    // SAFETY: a valid SID is GetLengthSid bytes long.
    unsafe { std::slice::from_raw_parts(sid as *const u8, GetLengthSid(sid) as usize).to_vec() }
}

/// A SID in its `S-1-5-…` form.
fn sid_string(sid: &[u8]) -> String {
    let mut text: *mut u16 = null_mut();
    // SAFETY: `sid` holds a valid SID; the string is freed with LocalFree.
    unsafe {
        if ConvertSidToStringSidW(sid.as_ptr() as PSID, &mut text) == 0 {
            return "(unknown)".into();
        }
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text as HLOCAL);
        s
    }
}

/// An access list granting everything to `sid` alone; with `inherit`, what is created inside a
/// folder inherits it.
fn owner_only_acl(sid: &[u8], inherit: bool) -> io::Result<Vec<u64>> {
    let size = std::mem::size_of::<ACL>() + std::mem::size_of::<ACCESS_ALLOWED_ACE>() + sid.len();
    let mut acl = vec![0u64; size.div_ceil(8)];
    let flags = if inherit {
        OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
    } else {
        0
    };
    // SAFETY: the buffer is large enough for the ACL header and one entry for this SID.
    unsafe {
        if InitializeAcl(
            acl.as_mut_ptr().cast(),
            (acl.len() * 8) as u32,
            ACL_REVISION,
        ) == 0
            || AddAccessAllowedAceEx(
                acl.as_mut_ptr().cast(),
                ACL_REVISION,
                flags,
                FILE_ALL_ACCESS,
                sid.as_ptr() as PSID,
            ) == 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(acl)
}

fn set_owner_only(path: &Path, inherit: bool) -> io::Result<()> {
    let acl = owner_only_acl(&my_sid()?, inherit)?;
    let name = wide(path);
    // SAFETY: the name is NUL-terminated; the ACL is valid and outlives the call.
    let status = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            null_mut(),
            null_mut(),
            acl.as_ptr().cast(),
            null(),
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// The owner SID of `path`.
fn owner(path: &Path) -> io::Result<Vec<u8>> {
    let name = wide(path);
    let (mut owner, mut descriptor): (PSID, PSECURITY_DESCRIPTOR) = (null_mut(), null_mut());
    // SAFETY: the name is NUL-terminated; the descriptor is freed with LocalFree after the
    // owner SID (which points into it) is copied.
    unsafe {
        let status = GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION,
            &mut owner,
            null_mut(),
            null_mut(),
            null_mut(),
            &mut descriptor,
        );
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        let sid = sid_bytes(owner);
        LocalFree(descriptor as HLOCAL);
        Ok(sid)
    }
}

pub fn owner_only_on_create(_options: &mut fs::OpenOptions) {}

pub fn restrict_file(path: &Path) -> io::Result<()> {
    set_owner_only(path, false)
}

pub fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    set_owner_only(dir, true)
}

pub fn foreign_owner(dir: &Path, _meta: &fs::Metadata) -> io::Result<Option<(String, String)>> {
    let (owner, me) = (owner(dir)?, my_sid()?);
    let (o, m) = (owner.as_ptr() as PSID, me.as_ptr() as PSID);
    // SAFETY: both are valid SIDs held in these buffers.
    let trusted = unsafe {
        EqualSid(o, m) != 0
            // Folders made by an elevated administrator belong to the Administrators group;
            // those and the system's own can change anything anyway.
            || IsWellKnownSid(o, WinBuiltinAdministratorsSid) != 0
            || IsWellKnownSid(o, WinLocalSystemSid) != 0
    };
    Ok((!trusted).then(|| (sid_string(&owner), sid_string(&me))))
}

pub fn restrict_dir(dir: &Path, _meta: &fs::Metadata) -> io::Result<()> {
    set_owner_only(dir, true)
}

pub fn user_tag() -> String {
    let name: String = std::env::var("USERNAME")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        my_sid()
            .map(|s| sid_string(&s))
            .unwrap_or_else(|_| "user".into())
    } else {
        name
    }
}

/// Whether access lists set on files are kept: not under Wine, which derives them from the
/// Unix mode and ignores what is set.
#[cfg(test)]
pub fn keeps_access_lists() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
    // SAFETY: ntdll is loaded in every process; both names are NUL-terminated.
    unsafe {
        let module = GetModuleHandleW(ntdll.as_ptr());
        module.is_null() || GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_none()
    }
}

/// Whether the access list of `path` has exactly one entry, this user's.
#[cfg(test)]
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    use std::ffi::c_void;
    use windows_sys::Win32::Security::GetAce;
    let name = wide(path);
    let (mut dacl, mut descriptor): (*mut ACL, PSECURITY_DESCRIPTOR) = (null_mut(), null_mut());
    let me = my_sid()?;
    // SAFETY: as in `owner`; the ACE is read while the descriptor lives.
    unsafe {
        let status = GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            null_mut(),
            null_mut(),
            &mut dacl,
            null_mut(),
            &mut descriptor,
        );
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        let mut only = false;
        if !dacl.is_null() && (*dacl).AceCount == 1 {
            let mut ace: *mut c_void = null_mut();
            if GetAce(dacl, 0, &mut ace) != 0 {
                let ace = ace as *const ACCESS_ALLOWED_ACE;
                let sid = std::ptr::addr_of!((*ace).SidStart) as PSID;
                only = EqualSid(sid, me.as_ptr() as PSID) != 0;
            }
        }
        LocalFree(descriptor as HLOCAL);
        Ok(only)
    }
}

/// Gives `path` no access list at all (everyone may do everything).
#[cfg(test)]
pub fn open_to_everyone(path: &Path) -> io::Result<()> {
    use windows_sys::Win32::Security::UNPROTECTED_DACL_SECURITY_INFORMATION;
    let name = wide(path);
    // SAFETY: the name is NUL-terminated; a null list means no restriction.
    let status = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | UNPROTECTED_DACL_SECURITY_INFORMATION,
            null_mut(),
            null_mut(),
            null(),
            null(),
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}
