//! A process exit while the engine runs is a failure, even `exit(0)`: a plugin that calls
//! `exit` (or `std::process::exit`) ends the whole gateway, and a supervisor that restarts it on
//! failure must see a failure. While the guard is armed, an exit is turned into exit code 70
//! (EX_SOFTWARE) with a line on standard error (how, per platform: `oibus_platform::exit_guard`).

/// The exit code of an exit the engine did not ask for.
pub const UNEXPECTED_EXIT: i32 = 70;

const LINE: &str = "oibus: the process was ended by exit() while the engine was running (a plugin called exit?): exit code 70";

/// Arms the guard: the engine is running.
pub fn arm() {
    oibus_platform::exit_guard::arm(LINE, UNEXPECTED_EXIT);
}

/// Disarms it: the engine has stopped and the exit that follows is its own.
pub fn disarm() {
    oibus_platform::exit_guard::disarm();
}
