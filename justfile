# Docker Internals in Rust: the learner's commands.
#
# Every recipe calls the workshop runner in xtask/, so `cargo xtask <command>`
# does exactly the same without just. A step is named step-1, step-01, 01 or 1.

# List the commands
default:
    @just --list --unsorted

# The main job, offline: the bundled registry, a pull by hand and with the tool (`just demo --serve` keeps the registry up)
demo *args:
    cargo xtask demo {{args}}

# Run a step's checks in the book's order (`just test step-1`; --core leaves the deep dives' checks for later), one exercise's (`just test step-1 parse-reference`), or every step's with a progress overview (`just test`)
test *args:
    cargo xtask test {{args}}

# A hint for the first unfinished exercise of a step (`just hint step-1`; --more for a bigger one), never the solution
hint step *flags:
    cargo xtask hint {{step}} {{flags}}

# Turn a step's solution into exercises: todo!()s with instructions (`just start step-1`; --core stubs only the core path's, the one-day workshop; --force overwrites your changes)
start step *flags:
    cargo xtask start {{step}} {{flags}}

# Compare your code with the reference, region by region (--restore puts the reference back)
solution step *flags:
    cargo xtask solution {{step}} {{flags}}

# Prove every exercise honest: the reference passes, the stubs build, every check fails on the stubs, each exercise stubbed alone fails a check (--step step-1 for one step)
check-exercises *flags:
    cargo xtask check-exercises {{flags}}

# The checks passing after each exercise in the book's order; fails where the count does not rise (`just exercise-table step-1`)
exercise-table *args:
    cargo xtask exercise-table {{args}}

# Check the toolchain, kernel features and peer tools; prints the fix for each gap
doctor:
    cargo xtask doctor

# Install what the test suite needs and is missing (apt packages need root)
setup:
    cargo xtask setup

# Check the book's code includes, then build it (`just book serve` to preview)
book *args:
    cargo xtask book {{args}}

# Run the benchmarks: cargo bench -p benches
bench:
    cargo xtask bench

# The whole suite, as CI runs it
ci:
    cargo xtask ci
