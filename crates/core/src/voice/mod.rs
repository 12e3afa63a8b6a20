//! Phone calls without I/O: TwiML written from typed verbs (`twiml`), a phone inbox's IVR and
//! what the caller hears at each step (`ivr`), a call's progress and outcome (`call`), and calls from the widget (`web_call`).

pub mod call;
pub mod ivr;
pub mod report;
pub mod twiml;
pub mod web_call;
