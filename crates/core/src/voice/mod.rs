//! Phone calls without I/O: TwiML written from typed verbs (`twiml`), a phone inbox's IVR and
//! what the caller hears at each step (`ivr`), and a call's progress and outcome (`call`).

pub mod call;
pub mod ivr;
pub mod twiml;
