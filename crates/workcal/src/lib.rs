//! The official working-day calendar as data (工作日历): per year the rest days (放假, with the holiday's name)
//! and the make-up working days (调休上班), and the year's status — official (正式, entered from the State
//! Council's notice 国务院办公厅关于…年部分节假日安排的通知, named with its reference) or provisional (暂定，待国务院
//! 通知). The administrator enters each year when the notice is out (`/admin/calendar`,
//! `/api/v1/calendar/years`); everyone reads it.
//!
//! The arithmetic is [`kernel::calendar::Calendar`]; this crate stores the years, seeds them from the years
//! compiled into kernel (migration `20261201000006_working_calendar.sql`), and keeps the built calendar in
//! memory on the [`kernel::Db`] ([`service::calendar`]), refreshed on every change, so statutory clocks never
//! query per case. Years after the first stored one that are not stored are provisional by rule
//! ([`kernel::calendar::rule_rest_days`]); a deadline that relies on such a year must say so.

pub mod http;
pub mod model;
pub mod repo;
pub mod service;
