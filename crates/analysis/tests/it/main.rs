//! The analysis area from the outside: the store reads on both backends, the API and the page through the whole
//! application (roles, street scoping, problems), and one analysis on the real Beijing data.

mod api;
mod beijing;
mod support;
