//! Windows: the service control manager, through the `windows-service` crate.

use super::types::{Registration, ServiceError, State};
use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_dispatcher;
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SERVICE_ALREADY_RUNNING: i32 = 1056;
const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
const ERROR_SERVICE_EXISTS: i32 = 1073;
/// The exit code of a service that has not run since it was installed.
const ERROR_SERVICE_NEVER_STARTED: u32 = 1077;

/// How long the manager is told a stop may take before it may give up on the service: the
/// engine stops its connectors with their own time-outs, well within this.
const STOP_HINT: Duration = Duration::from_secs(60);

fn error(action: &'static str, name: &str, e: windows_service::Error) -> ServiceError {
    let name = name.to_string();
    let source = match e {
        windows_service::Error::Winapi(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    match source.raw_os_error() {
        Some(ERROR_SERVICE_DOES_NOT_EXIST) => ServiceError::NotInstalled { name },
        Some(ERROR_SERVICE_EXISTS) => ServiceError::AlreadyInstalled { name },
        Some(ERROR_ACCESS_DENIED) => ServiceError::AccessDenied { action, name },
        Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) => ServiceError::NotUnderManager,
        _ => ServiceError::Os {
            action,
            name,
            source,
        },
    }
}

fn manager(
    action: &'static str,
    name: &str,
    access: ServiceManagerAccess,
) -> Result<ServiceManager, ServiceError> {
    ServiceManager::local_computer(None::<&str>, access).map_err(|e| error(action, name, e))
}

fn open(
    action: &'static str,
    name: &str,
    access: ServiceAccess,
) -> Result<windows_service::service::Service, ServiceError> {
    manager(action, name, ServiceManagerAccess::CONNECT)?
        .open_service(name, access)
        .map_err(|e| error(action, name, e))
}

pub fn install(r: &Registration) -> Result<(), ServiceError> {
    const ACTION: &str = "cannot install";
    let info = ServiceInfo {
        name: OsString::from(&r.name),
        display_name: OsString::from(&r.display_name),
        service_type: ServiceType::OWN_PROCESS,
        start_type: if r.automatic {
            ServiceStartType::AutoStart
        } else {
            ServiceStartType::OnDemand
        },
        error_control: ServiceErrorControl::Normal,
        executable_path: r.program.clone(),
        launch_arguments: r.arguments.clone(),
        dependencies: Vec::new(),
        // LocalSystem, as OIBus's own Windows service.
        account_name: None,
        account_password: None,
    };
    let access = ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE;
    let service = manager(ACTION, &r.name, access)?
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .map_err(|e| error(ACTION, &r.name, e))?;
    // The description is a courtesy: a manager that cannot store it does not undo the install.
    let _ = service.set_description(&r.description);
    Ok(())
}

pub fn uninstall(name: &str) -> Result<(), ServiceError> {
    const ACTION: &str = "cannot uninstall";
    open(ACTION, name, ServiceAccess::DELETE)?
        .delete()
        .map_err(|e| error(ACTION, name, e))
}

pub fn start(name: &str) -> Result<(), ServiceError> {
    const ACTION: &str = "cannot start";
    match open(ACTION, name, ServiceAccess::START)?.start::<&str>(&[]) {
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error() == Some(ERROR_SERVICE_ALREADY_RUNNING) =>
        {
            Ok(())
        }
        other => other.map_err(|e| error(ACTION, name, e)),
    }
}

pub fn stop(name: &str) -> Result<(), ServiceError> {
    const ACTION: &str = "cannot stop";
    match open(ACTION, name, ServiceAccess::STOP)?.stop() {
        Ok(_) => Ok(()),
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error() == Some(ERROR_SERVICE_NOT_ACTIVE) =>
        {
            Ok(())
        }
        Err(e) => Err(error(ACTION, name, e)),
    }
}

pub fn state(name: &str) -> Result<State, ServiceError> {
    const ACTION: &str = "cannot query";
    let status = open(ACTION, name, ServiceAccess::QUERY_STATUS)?
        .query_status()
        .map_err(|e| error(ACTION, name, e))?;
    Ok(match status.current_state {
        ServiceState::Stopped => State::Stopped {
            exit_code: match status.exit_code {
                ServiceExitCode::Win32(ERROR_SERVICE_NEVER_STARTED) => 0,
                ServiceExitCode::Win32(code) | ServiceExitCode::ServiceSpecific(code) => code,
            },
        },
        ServiceState::StartPending => State::StartPending,
        ServiceState::Running => State::Running,
        ServiceState::StopPending => State::StopPending,
        ServiceState::Paused | ServiceState::PausePending | ServiceState::ContinuePending => {
            State::Paused
        }
    })
}

type Body = Box<dyn FnOnce() -> i32 + Send>;

/// What the service thread needs, handed over from [`serve`] (the manager calls the service's
/// main function with no context of ours).
struct Handover {
    name: String,
    body: Option<Body>,
    code: Option<i32>,
}

static HANDOVER: Mutex<Option<Handover>> = Mutex::new(None);

/// The status handle, for the control handler to report "stopping". The manager documents
/// `SetServiceStatus` as callable from any thread of the service; the handle stays valid until
/// the process ends.
struct StatusHandle(service_control_handler::ServiceStatusHandle);
// SAFETY: see above; the handle is only passed to SetServiceStatus.
unsafe impl Send for StatusHandle {}
// SAFETY: as above.
unsafe impl Sync for StatusHandle {}
static STATUS: OnceLock<StatusHandle> = OnceLock::new();

fn status(state: ServiceState, exit_code: ServiceExitCode) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code,
        checkpoint: 0,
        wait_hint: if state == ServiceState::StopPending {
            STOP_HINT
        } else {
            Duration::ZERO
        },
        process_id: None,
    }
}

fn report(state: ServiceState, exit_code: ServiceExitCode) {
    if let Some(handle) = STATUS.get() {
        // Nothing to do if the manager cannot be told: the process goes on, and its end is
        // what the manager sees.
        let _ = handle.0.set_service_status(status(state, exit_code));
    }
}

windows_service::define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    let taken = HANDOVER
        .lock()
        .ok()
        .and_then(|mut h| h.as_mut().map(|h| (h.name.clone(), h.body.take())));
    let Some((name, Some(body))) = taken else {
        return;
    };
    let handler = |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            report(ServiceState::StopPending, ServiceExitCode::NO_ERROR);
            crate::shutdown::request();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(handle) = service_control_handler::register(&name, handler) else {
        return;
    };
    let _ = STATUS.set(StatusHandle(handle));
    report(ServiceState::Running, ServiceExitCode::NO_ERROR);
    // A panic must not unwind into the manager's thread: it is a failure with Rust's code.
    let code = catch_unwind(AssertUnwindSafe(body)).unwrap_or(101);
    if let Ok(mut h) = HANDOVER.lock()
        && let Some(h) = h.as_mut()
    {
        h.code = Some(code);
    }
    let exit_code = match u32::try_from(code) {
        Ok(0) => ServiceExitCode::NO_ERROR,
        Ok(code) => ServiceExitCode::ServiceSpecific(code),
        Err(_) => ServiceExitCode::ServiceSpecific(1),
    };
    report(ServiceState::Stopped, exit_code);
}

pub fn serve(name: &str, body: Body) -> Result<i32, ServiceError> {
    if let Ok(mut h) = HANDOVER.lock() {
        *h = Some(Handover {
            name: name.to_string(),
            body: Some(body),
            code: None,
        });
    }
    service_dispatcher::start(name, ffi_service_main).map_err(|e| error("cannot run", name, e))?;
    let code = HANDOVER
        .lock()
        .ok()
        .and_then(|h| h.as_ref().and_then(|h| h.code));
    // The manager returned without running the service thread to its end: a failure.
    Ok(code.unwrap_or(1))
}
