//! `-it`: the container's own pseudo-terminal.
//!
//! A shell needs a terminal to be interactive: line editing, job control,
//! Ctrl-C as a signal. The container gets the *secondary* side of a new
//! pseudo-terminal as its controlling terminal and its stdin, stdout and
//! stderr; this process holds the *primary* side, copies the user's
//! keystrokes to it and its output to the user's terminal, which is put
//! in raw mode so that every key (Ctrl-C included) goes to the container
//! untouched. A window resize (SIGWINCH) is passed on with `TIOCSWINSZ`.

use crate::error::{Error, Result, system};
use nix::libc;
use nix::poll::{PollFd, PollFlags};
use nix::pty::{OpenptyResult, Winsize, openpty};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::unistd::{isatty, read, write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The host side of a container's terminal.
pub struct Terminal {
    primary: OwnedFd,
    /// The user's terminal settings, put back when this is dropped.
    saved: Option<Termios>,
    input_open: bool,
}

impl Terminal {
    /// A new pseudo-terminal the size of this process's; its secondary
    /// side goes to the container. Fails unless stdin is a terminal.
    pub fn open() -> Result<(Terminal, OwnedFd)> {
        let stdin = std::io::stdin();
        if !isatty(stdin.as_fd()).unwrap_or(false) {
            return Err(Error::NoTerminal);
        }
        let size = window_size(stdin.as_fd());
        let OpenptyResult { master, slave } =
            openpty(size.as_ref(), None).map_err(system("openpty"))?;
        set_cloexec(&master)?;
        set_cloexec(&slave)?;
        Ok((
            Terminal {
                primary: master,
                saved: None,
                input_open: true,
            },
            slave,
        ))
    }

    /// Puts the user's terminal in raw mode until this is dropped.
    pub fn raw(&mut self) -> Result<()> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).map_err(system("tcgetattr"))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(system("tcsetattr"))?;
        self.saved = Some(saved);
        Ok(())
    }

    /// What to wait for: the user's keystrokes, and the container's output.
    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
        // SAFETY: stdin stays open for the life of the process.
        let stdin = unsafe { BorrowedFd::borrow_raw(0) };
        let input = if self.input_open {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        };
        vec![
            PollFd::new(stdin, input),
            PollFd::new(self.primary.as_fd(), PollFlags::POLLIN),
        ]
    }

    /// Copies what is ready: `ready[0]` stdin to the container,
    /// `ready[1]` the container's output to stdout.
    pub fn copy(&mut self, ready: &[bool]) {
        let mut buffer = [0u8; 16 * 1024];
        if ready.first() == Some(&true) {
            match read(std::io::stdin().as_fd(), &mut buffer) {
                Ok(0) | Err(_) => self.input_open = false,
                Ok(n) => write_all(self.primary.as_fd(), &buffer[..n]),
            }
        }
        if ready.get(1) == Some(&true)
            && let Ok(n) = read(self.primary.as_fd(), &mut buffer)
        {
            write_all(std::io::stdout().as_fd(), &buffer[..n]);
        }
    }

    /// Copies what the container wrote before it exited.
    pub fn drain(&mut self) {
        let mut buffer = [0u8; 16 * 1024];
        let _ = nix::fcntl::fcntl(
            &self.primary,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        while let Ok(n) = read(self.primary.as_fd(), &mut buffer) {
            if n == 0 {
                break;
            }
            write_all(std::io::stdout().as_fd(), &buffer[..n]);
        }
    }

    /// Passes the user's new window size on to the container.
    pub fn resize(&self) {
        if let Some(size) = window_size(std::io::stdin().as_fd()) {
            // SAFETY: TIOCSWINSZ reads a `winsize`, which `size` is.
            unsafe { libc::ioctl(self.primary.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// The window size of the terminal `fd`, if it is one.
fn window_size(fd: BorrowedFd) -> Option<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a `winsize`, which `size` is.
    let result = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (result == 0).then_some(size)
}

fn set_cloexec(fd: &OwnedFd) -> Result<()> {
    nix::fcntl::fcntl(
        fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(system("fcntl"))?;
    Ok(())
}

fn write_all(fd: BorrowedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[n..],
        }
    }
}

/// In the child: makes `secondary` the controlling terminal of a new
/// session, and stdin, stdout and stderr.
pub fn attach(secondary: &OwnedFd) -> nix::Result<()> {
    nix::unistd::setsid()?;
    // SAFETY: TIOCSCTTY takes an int argument.
    if unsafe { libc::ioctl(secondary.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(nix::errno::Errno::last());
    }
    for number in 0..3 {
        // SAFETY: 0, 1 and 2 are open; the OwnedFd is never dropped.
        let mut target = std::mem::ManuallyDrop::new(unsafe {
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(number)
        });
        nix::unistd::dup2(secondary, &mut target)?;
    }
    Ok(())
}
