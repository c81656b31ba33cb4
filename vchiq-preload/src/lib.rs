//! A preload library (`LD_PRELOAD`) that serves `/dev/vchiq` from the
//! software VideoCore (`vchiq-emu`) to any program.
