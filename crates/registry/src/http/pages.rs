//! The registry's Chinese pages: lists with filters and paging, the enterprise profile (企业环境档案), forms to
//! create and edit enterprises, points and devices. Forms post `application/x-www-form-urlencoded` with `_csrf`
//! (checked by the web layer before these handlers run); a rejected form is shown again with the message next
//! to the field.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use kernel::auth::MaybePrincipal;
use kernel::picker::Picker;
use kernel::validate::{form_f64, form_i64};
use kernel::web::{Chrome, PageError, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Page, PageQuery, Principal};

/// Suggestions a picker lists before anything is typed (and all a browser without the script gets).
const PICKER_OPTIONS: u32 = 100;

use super::parse_id;
use crate::messages::chinese;
use crate::model::*;
use crate::service;
use kernel::web::parse_query;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/registry/enterprises",
            get(enterprises_page).post(create_enterprise),
        )
        .route("/registry/enterprises/new", get(new_enterprise_page))
        .route(
            "/registry/enterprises/{id}",
            get(enterprise_page).post(update_enterprise),
        )
        .route("/registry/enterprises/{id}/edit", get(edit_enterprise_page))
        .route(
            "/registry/enterprises/{id}/status",
            axum::routing::post(change_status),
        )
        .route(
            "/registry/enterprises/{id}/identifiers",
            axum::routing::post(add_identifier),
        )
        .route(
            "/registry/enterprises/{id}/identifiers/{identifier_id}/delete",
            axum::routing::post(remove_identifier),
        )
        .route(
            "/registry/enterprises/{id}/sites",
            axum::routing::post(add_site),
        )
        .route(
            "/registry/enterprises/{id}/outlets",
            axum::routing::post(add_outlet),
        )
        .route("/registry/points", get(points_page).post(create_point))
        .route("/registry/points/new", get(new_point_page))
        .route("/registry/points/{id}", get(point_page).post(update_point))
        .route("/registry/points/{id}/edit", get(edit_point_page))
        .route("/registry/devices", get(devices_page).post(create_device))
        .route("/registry/devices/new", get(new_device_page))
        .route(
            "/registry/devices/{id}",
            get(device_page).post(update_device),
        )
        .route("/registry/devices/{id}/edit", get(edit_device_page))
        .route("/registry/organisation", get(organisation_page))
        .route(
            "/registry/organisation/streets",
            axum::routing::post(create_street),
        )
        .route(
            "/registry/organisation/departments",
            axum::routing::post(create_department),
        )
        .route(
            "/registry/organisation/streets/{id}",
            axum::routing::post(update_street),
        )
        .route(
            "/registry/organisation/departments/{id}",
            axum::routing::post(update_department),
        )
}

// ---------------------------------------------------------------------------------------------------------------
// Shared page plumbing
// ---------------------------------------------------------------------------------------------------------------

/// The caller of a page; without one the browser goes to the login page.
fn who(caller: MaybePrincipal) -> Result<Principal, PageError> {
    caller.0.ok_or(PageError(AppError::Unauthorized))
}

fn chrome(state: &AppState, principal: &Principal, path: &str) -> Chrome {
    Chrome::new(state, principal, path)
}

fn see_other(location: String) -> PageResult {
    Ok(Redirect::to(&location).into_response())
}

/// One `<option>` of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn options<I: IntoIterator<Item = (String, String)>>(
    items: I,
    selected: &str,
    blank: Option<&str>,
) -> Vec<Opt> {
    let mut out: Vec<Opt> = blank
        .map(|label| Opt {
            value: String::new(),
            label: label.to_string(),
            selected: selected.is_empty(),
        })
        .into_iter()
        .collect();
    out.extend(items.into_iter().map(|(value, label)| Opt {
        selected: value == selected,
        value,
        label,
    }));
    out
}

macro_rules! enum_options {
    ($ty:ty, $selected:expr, $blank:expr) => {
        options(
            <$ty>::ALL
                .iter()
                .map(|v| (v.as_str().to_string(), v.label().to_string())),
            $selected,
            $blank,
        )
    };
}

async fn street_options(
    state: &AppState,
    principal: &Principal,
    selected: &str,
    blank: Option<&str>,
) -> Result<Vec<Opt>, PageError> {
    let streets = service::list_streets(&state.db, principal).await?;
    let scope = principal.street_scope();
    Ok(options(
        streets
            .into_iter()
            .filter(|s| scope.is_none_or(|own| own == s.id))
            .map(|s| (s.id.to_string(), s.name)),
        selected,
        blank,
    ))
}

/// A posted form: the fields in order, repeated names allowed (checkbox groups).
pub(super) struct FormData(Vec<(String, String)>);

impl FormData {
    pub(super) fn parse(body: &[u8]) -> FormData {
        FormData(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(super) fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn checked(&self, name: &str) -> bool {
        matches!(self.get(name).as_str(), "1" | "on" | "true")
    }

    fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }
}

/// What went wrong with a form: the field (when one is named) and the message.
#[derive(Default)]
pub struct FormErrors {
    field: Option<String>,
    message: Option<String>,
}

impl FormErrors {
    /// The message for `field`, if the error is about it.
    pub fn of(&self, field: &str) -> Option<&str> {
        match (&self.field, &self.message) {
            (Some(f), Some(m)) if f == field => Some(m),
            _ => None,
        }
    }

    /// The message when none of the form's `fields` (comma-separated) shows it.
    pub fn general(&self, fields: &str) -> Option<&str> {
        match (&self.field, &self.message) {
            (Some(f), Some(_)) if fields.split(',').any(|x| x.trim() == f) => None,
            (_, Some(m)) => Some(m),
            _ => None,
        }
    }
}

/// Splits an error a form can show (validation, conflict) from one that ends the request (403, 404, 500).
fn form_errors(err: AppError) -> Result<FormErrors, PageError> {
    match err {
        AppError::Validation { field, message } => Ok(FormErrors {
            field: Some(field),
            message: Some(chinese(&message)),
        }),
        AppError::Conflict(message) => {
            // Conflicts read "field: message" when they are about one field.
            let (field, message) = match message.split_once(": ") {
                Some((field, rest)) if !field.contains(' ') => {
                    (Some(field.to_string()), rest.to_string())
                }
                _ => (None, message),
            };
            Ok(FormErrors {
                field,
                message: Some(chinese(&message)),
            })
        }
        other => Err(PageError(other)),
    }
}

/// A required number typed into a form.
fn required_i64(field: &str, value: &str) -> Result<i64, AppError> {
    form_i64(field, Some(value))?.ok_or_else(|| AppError::validation(field, "is required"))
}

/// `?a=1&b=2&` (for the pager) from the filters the list was asked with.
fn pager_base<T: serde::Serialize>(path: &str, filter: &T) -> String {
    let query = serde_urlencoded::to_string(filter).unwrap_or_default();
    if query.is_empty() {
        format!("{path}?")
    } else {
        format!("{path}?{query}&")
    }
}

fn num(value: Option<f64>) -> String {
    kernel::web::opt_num(value)
}

fn id_text(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/enterprises.html")]
struct EnterprisesPage {
    chrome: Chrome,
    list: Page<Enterprise>,
    page: u32,
    pages: u32,
    total: i64,
    pager_base: String,
    q: String,
    industry_code: String,
    streets: Vec<Opt>,
    statuses: Vec<Opt>,
    key_options: Vec<Opt>,
    can_create: bool,
}

async fn enterprises_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    let query = query.unwrap_or_default();
    let filter: EnterpriseFilter = parse_query(&query)?;
    let paging: PageQuery = parse_query(&query)?;
    let page = service::list_enterprises(&state.db, &principal, &filter, &paging).await?;
    let key = filter
        .key_discharger
        .map(|k| k.to_string())
        .unwrap_or_default();
    render(&EnterprisesPage {
        chrome: chrome(&state, &principal, "/registry/enterprises"),
        pages: page.pages(),
        total: page.total,
        page: page.page,
        list: page,
        pager_base: pager_base("/registry/enterprises", &filter),
        q: filter.q.clone().unwrap_or_default(),
        industry_code: filter.industry_code.clone().unwrap_or_default(),
        streets: street_options(
            &state,
            &principal,
            &id_text(filter.street_id),
            Some("全部街道"),
        )
        .await?,
        statuses: enum_options!(
            EnterpriseStatus,
            filter.status.map(|s| s.as_str()).unwrap_or(""),
            Some("全部状态")
        ),
        key_options: options(
            [
                ("true".to_string(), "重点排污单位".to_string()),
                ("false".to_string(), "非重点".to_string()),
            ],
            &key,
            Some("全部"),
        ),
        can_create: principal.can(crate::ENTERPRISE, Action::Create),
    })
}

/// The enterprise form's values, as typed.
#[derive(Default)]
struct EnterpriseForm {
    uscc: String,
    name: String,
    industry_code: String,
    industry_name: String,
    street_id: String,
    address: String,
    lon: String,
    lat: String,
    legal_representative: String,
    contact_phone: String,
    key_discharger: bool,
    key_categories: Vec<String>,
    status: String,
    version: String,
}

impl EnterpriseForm {
    fn from_enterprise(e: &Enterprise) -> Self {
        EnterpriseForm {
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            industry_code: e.industry_code.clone(),
            industry_name: e.industry_name.clone(),
            street_id: e.street_id.to_string(),
            address: e.address.clone(),
            lon: num(e.lon),
            lat: num(e.lat),
            legal_representative: e.legal_representative.clone().unwrap_or_default(),
            contact_phone: e.contact_phone.clone().unwrap_or_default(),
            key_discharger: e.key_discharger,
            key_categories: e
                .key_categories
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            status: e.status.as_str().to_string(),
            version: e.version.to_string(),
        }
    }

    fn from_post(form: &FormData) -> Self {
        EnterpriseForm {
            uscc: form.get("uscc"),
            name: form.get("name"),
            industry_code: form.get("industry_code"),
            industry_name: form.get("industry_name"),
            street_id: form.get("street_id"),
            address: form.get("address"),
            lon: form.get("lon"),
            lat: form.get("lat"),
            legal_representative: form.get("legal_representative"),
            contact_phone: form.get("contact_phone"),
            key_discharger: form.checked("key_discharger"),
            key_categories: form.all("key_categories"),
            status: form.get("status"),
            version: form.get("version"),
        }
    }

    fn input(&self) -> Result<EnterpriseInput, AppError> {
        let key_categories = self
            .key_categories
            .iter()
            .map(|c| KeyCategory::parse_field("key_categories", c))
            .collect::<Result<Vec<_>, _>>()?;
        let status = match self.status.as_str() {
            "" => None,
            s => Some(EnterpriseStatus::parse_field("status", s)?),
        };
        Ok(EnterpriseInput {
            uscc: self.uscc.clone(),
            name: self.name.clone(),
            industry_code: self.industry_code.clone(),
            industry_name: self.industry_name.clone(),
            street_id: required_i64("street_id", &self.street_id)?,
            address: self.address.clone(),
            lon: form_f64("lon", Some(&self.lon))?,
            lat: form_f64("lat", Some(&self.lat))?,
            legal_representative: Some(self.legal_representative.clone()),
            contact_phone: Some(self.contact_phone.clone()),
            key_discharger: self.key_discharger,
            key_categories,
            status,
            version: form_i64("version", Some(&self.version))?,
        })
    }
}

/// A checkbox of a group.
pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "registry/enterprise_form.html")]
struct EnterpriseFormPage {
    chrome: Chrome,
    /// `None` for a new enterprise.
    id: Option<i64>,
    form: EnterpriseForm,
    errors: FormErrors,
    streets: Vec<Opt>,
    statuses: Vec<Opt>,
    categories: Vec<Check>,
}

impl EnterpriseFormPage {
    fn general_error(&self) -> Option<&str> {
        self.errors.general("uscc,name,industry_code,industry_name,street_id,address,lon,lat,legal_representative,contact_phone,key_categories,status")
    }
}

async fn enterprise_form(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    form: EnterpriseForm,
    errors: FormErrors,
) -> PageResult {
    let path = match id {
        Some(id) => format!("/registry/enterprises/{id}/edit"),
        None => "/registry/enterprises/new".to_string(),
    };
    let categories = KeyCategory::ALL
        .iter()
        .map(|c| Check {
            value: c.as_str().to_string(),
            label: c.label().to_string(),
            checked: form.key_categories.iter().any(|k| k == c.as_str()),
        })
        .collect();
    let status = if form.status.is_empty() {
        "operating"
    } else {
        form.status.as_str()
    };
    let page = EnterpriseFormPage {
        chrome: chrome(state, principal, &path),
        id,
        streets: street_options(state, principal, &form.street_id, Some("请选择街道")).await?,
        statuses: enum_options!(EnterpriseStatus, status, None),
        categories,
        form,
        errors,
    };
    let mut response = render(&page)?;
    if page.errors.message.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn new_enterprise_page(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::ENTERPRISE, Action::Create)?;
    let form = EnterpriseForm {
        street_id: id_text(principal.street_scope()),
        ..Default::default()
    };
    enterprise_form(&state, &principal, None, form, FormErrors::default()).await
}

async fn create_enterprise(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_enterprise(&state, &who(caller)?, None, &body).await
}

/// Creates (`id` = `None`) or updates an enterprise from its form; a rejected form comes back with the error.
async fn save_enterprise(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = EnterpriseForm::from_post(&FormData::parse(body));
    let result = match (form.input(), id) {
        (Err(e), _) => Err(e),
        (Ok(input), None) => service::create_enterprise(&state.db, principal, &input).await,
        (Ok(input), Some(id)) => service::update_enterprise(&state.db, principal, id, &input).await,
    };
    match result {
        Ok(saved) => see_other(format!("/registry/enterprises/{}", saved.id)),
        Err(err) => enterprise_form(state, principal, id, form, form_errors(err)?).await,
    }
}

async fn edit_enterprise_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::ENTERPRISE, Action::Update)?;
    let id = parse_id(&id)?;
    let enterprise = service::get_enterprise(&state.db, &principal, id).await?;
    let form = EnterpriseForm::from_enterprise(&enterprise);
    enterprise_form(&state, &principal, Some(id), form, FormErrors::default()).await
}

async fn update_enterprise(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    save_enterprise(&state, &who(caller)?, Some(parse_id(&id)?), &body).await
}

/// Which of the profile's small forms failed, and why.
#[derive(Default)]
struct ProfileErrors {
    status: FormErrors,
    identifier: FormErrors,
    site: FormErrors,
    outlet: FormErrors,
}

#[derive(Template)]
#[template(path = "registry/enterprise.html")]
struct EnterpriseProfilePage {
    chrome: Chrome,
    p: EnterpriseProfile,
    errors: ProfileErrors,
    can_edit: bool,
    can_see_devices: bool,
    statuses: Vec<Opt>,
    programs: Vec<Opt>,
    media: Vec<Opt>,
    outlet_kinds: Vec<Opt>,
    sites: Vec<Opt>,
    today: String,
}

impl EnterpriseProfilePage {
    fn cst(&self, ts: &i64) -> String {
        kernel::time::format_cst(*ts)
    }
}

async fn profile_page(
    state: &AppState,
    principal: &Principal,
    id: i64,
    errors: ProfileErrors,
) -> PageResult {
    let mut p = service::profile(&state.db, principal, id).await?;
    // The history names the people who changed the status, not their usernames.
    let names = kernel::people::names(
        state,
        p.status_history.iter().map(|s| s.changed_by.as_str()),
    )
    .await?;
    for record in &mut p.status_history {
        record.changed_by = names.name(&record.changed_by);
    }
    let has_errors = [
        &errors.status,
        &errors.identifier,
        &errors.site,
        &errors.outlet,
    ]
    .iter()
    .any(|e| e.message.is_some());
    let page = EnterpriseProfilePage {
        chrome: chrome(state, principal, &format!("/registry/enterprises/{id}")),
        can_edit: principal.can(crate::ENTERPRISE, Action::Update),
        can_see_devices: principal.can(crate::DEVICE, Action::Read),
        statuses: enum_options!(EnterpriseStatus, p.enterprise.status.as_str(), None),
        programs: enum_options!(Program, "", None),
        media: enum_options!(Medium, "", None),
        outlet_kinds: enum_options!(OutletKind, "", None),
        sites: options(
            p.sites.iter().map(|s| (s.id.to_string(), s.name.clone())),
            "",
            Some("（不指定）"),
        ),
        today: kernel::time::cst_day(kernel::time::now_ts())
            .format("%Y-%m-%d")
            .to_string(),
        p,
        errors,
    };
    let mut response = render(&page)?;
    if has_errors {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn enterprise_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    profile_page(&state, &principal, id, ProfileErrors::default()).await
}

/// Runs one of the profile's forms: back to the profile, or the profile again with the error by that form.
async fn profile_form(
    state: &AppState,
    principal: &Principal,
    id: i64,
    result: Result<(), AppError>,
    place: fn(&mut ProfileErrors) -> &mut FormErrors,
) -> PageResult {
    match result {
        Ok(()) => see_other(format!("/registry/enterprises/{id}")),
        Err(err) => {
            let mut errors = ProfileErrors::default();
            *place(&mut errors) = form_errors(err)?;
            profile_page(state, principal, id, errors).await
        }
    }
}

async fn change_status(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    let form = FormData::parse(&body);
    let result = async {
        let change = StatusChange {
            status: EnterpriseStatus::parse_field("status", &form.get("status"))?,
            effective_date: form.get("effective_date"),
            note: form.get("note"),
            version: form_i64("version", Some(&form.get("version")))?,
        };
        service::change_status(&state.db, &principal, id, &change)
            .await
            .map(|_| ())
    }
    .await;
    profile_form(&state, &principal, id, result, |e| &mut e.status).await
}

async fn add_identifier(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    let form = FormData::parse(&body);
    let result = async {
        let input = IdentifierInput {
            program: Program::parse_field("program", &form.get("program"))?,
            identifier: form.get("identifier"),
            note: form.get("note"),
        };
        service::add_identifier(&state.db, &principal, id, &input)
            .await
            .map(|_| ())
    }
    .await;
    profile_form(&state, &principal, id, result, |e| &mut e.identifier).await
}

async fn remove_identifier(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path((id, identifier_id)): Path<(String, String)>,
) -> PageResult {
    let principal = who(caller)?;
    let (id, identifier_id) = (parse_id(&id)?, parse_id(&identifier_id)?);
    let result = service::remove_identifier(&state.db, &principal, id, identifier_id)
        .await
        .map(|_| ());
    profile_form(&state, &principal, id, result, |e| &mut e.identifier).await
}

async fn add_site(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    let form = FormData::parse(&body);
    let result = async {
        let input = SiteInput {
            name: form.get("name"),
            address: form.get("address"),
            street_id: None,
            lon: form_f64("lon", Some(&form.get("lon")))?,
            lat: form_f64("lat", Some(&form.get("lat")))?,
        };
        service::add_site(&state.db, &principal, id, &input)
            .await
            .map(|_| ())
    }
    .await;
    profile_form(&state, &principal, id, result, |e| &mut e.site).await
}

async fn add_outlet(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    let form = FormData::parse(&body);
    let result = async {
        let input = OutletInput {
            site_id: form_i64("site_id", Some(&form.get("site_id")))?,
            code: form.get("code"),
            name: form.get("name"),
            medium: Medium::parse_field("medium", &form.get("medium"))?,
            kind: OutletKind::parse_field("kind", &form.get("kind"))?,
            lon: form_f64("lon", Some(&form.get("lon")))?,
            lat: form_f64("lat", Some(&form.get("lat")))?,
            online_monitored: form.checked("online_monitored"),
        };
        service::add_outlet(&state.db, &principal, id, &input)
            .await
            .map(|_| ())
    }
    .await;
    profile_form(&state, &principal, id, result, |e| &mut e.outlet).await
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring points
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/points.html")]
struct PointsPage {
    chrome: Chrome,
    list: Page<MonitoringPoint>,
    page: u32,
    pages: u32,
    total: i64,
    pager_base: String,
    q: String,
    kinds: Vec<Opt>,
    levels: Vec<Opt>,
    streets: Vec<Opt>,
    can_create: bool,
}

async fn points_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    let query = query.unwrap_or_default();
    let filter: PointFilter = parse_query(&query)?;
    let paging: PageQuery = parse_query(&query)?;
    let page = service::list_points(&state.db, &principal, &filter, &paging).await?;
    let kinds = PointKind::ALL
        .iter()
        .filter(|k| !principal.is_public() || k.is_public())
        .map(|k| (k.as_str().to_string(), k.label().to_string()));
    let streets = service::list_streets(&state.db, &principal).await?;
    render(&PointsPage {
        chrome: chrome(&state, &principal, "/registry/points"),
        pages: page.pages(),
        total: page.total,
        page: page.page,
        list: page,
        pager_base: pager_base("/registry/points", &filter),
        q: filter.q.clone().unwrap_or_default(),
        kinds: options(
            kinds,
            filter.kind.map(|k| k.as_str()).unwrap_or(""),
            Some("全部类型"),
        ),
        levels: enum_options!(
            PointLevel,
            filter.level.map(|l| l.as_str()).unwrap_or(""),
            Some("全部级别")
        ),
        streets: options(
            streets.into_iter().map(|s| (s.id.to_string(), s.name)),
            &id_text(filter.street_id),
            Some("全部街道"),
        ),
        can_create: principal.can(crate::MONITORING_POINT, Action::Create),
    })
}

#[derive(Template)]
#[template(path = "registry/point.html")]
struct PointPage {
    chrome: Chrome,
    point: MonitoringPoint,
    devices: Vec<Device>,
    can_see_devices: bool,
    can_edit: bool,
}

async fn point_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    let point = service::get_point(&state.db, &principal, id).await?;
    let can_see_devices = principal.can(crate::DEVICE, Action::Read);
    let devices = if can_see_devices {
        let filter = DeviceFilter {
            point_id: Some(id),
            q: None,
        };
        service::list_devices(&state.db, &principal, &filter, &PageQuery::default())
            .await?
            .items
    } else {
        Vec::new()
    };
    render(&PointPage {
        chrome: chrome(&state, &principal, &format!("/registry/points/{id}")),
        can_edit: principal.can(crate::MONITORING_POINT, Action::Update),
        point,
        devices,
        can_see_devices,
    })
}

#[derive(Default)]
struct PointForm {
    code: String,
    name: String,
    kind: String,
    level: String,
    street_id: String,
    lon: String,
    lat: String,
    owner: String,
    water_body: String,
    water_kind: String,
    target_class: String,
    /// The outlet picker: the chosen outlet's id and the text beside it (kernel::picker).
    outlet_id: String,
    outlet: String,
    active: bool,
    version: String,
}

impl PointForm {
    fn from_point(p: &MonitoringPoint) -> Self {
        PointForm {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind.as_str().to_string(),
            level: p.level.as_str().to_string(),
            street_id: id_text(p.street_id),
            lon: num(p.lon),
            lat: num(p.lat),
            owner: p.owner.clone(),
            water_body: p.water_body.clone().unwrap_or_default(),
            water_kind: p
                .water_kind
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            target_class: id_text(p.target_class),
            outlet_id: id_text(p.outlet_id),
            outlet: String::new(),
            active: p.active,
            version: p.version.to_string(),
        }
    }

    fn from_post(form: &FormData) -> Self {
        PointForm {
            code: form.get("code"),
            name: form.get("name"),
            kind: form.get("kind"),
            level: form.get("level"),
            street_id: form.get("street_id"),
            lon: form.get("lon"),
            lat: form.get("lat"),
            owner: form.get("owner"),
            water_body: form.get("water_body"),
            water_kind: form.get("water_kind"),
            target_class: form.get("target_class"),
            outlet_id: form.get("outlet_id"),
            outlet: form.get("outlet"),
            active: form.checked("active"),
            version: form.get("version"),
        }
    }

    /// The point as typed, with the outlet its picker names (`outlet_id`).
    fn input(&self, outlet_id: Option<i64>) -> Result<PointInput, AppError> {
        Ok(PointInput {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: PointKind::parse_field("kind", &self.kind)?,
            level: PointLevel::parse_field("level", &self.level)?,
            street_id: form_i64("street_id", Some(&self.street_id))?,
            lon: form_f64("lon", Some(&self.lon))?,
            lat: form_f64("lat", Some(&self.lat))?,
            owner: self.owner.clone(),
            water_body: Some(self.water_body.clone()),
            water_kind: match self.water_kind.as_str() {
                "" => None,
                k => Some(WaterKind::parse_field("water_kind", k)?),
            },
            target_class: form_i64("target_class", Some(&self.target_class))?,
            outlet_id,
            active: Some(self.active),
            version: form_i64("version", Some(&self.version))?,
        })
    }
}

#[derive(Template)]
#[template(path = "registry/point_form.html")]
struct PointFormPage {
    chrome: Chrome,
    id: Option<i64>,
    form: PointForm,
    errors: FormErrors,
    kinds: Vec<Opt>,
    levels: Vec<Opt>,
    streets: Vec<Opt>,
    water_kinds: Vec<Opt>,
    outlet: Picker,
}

impl PointFormPage {
    fn general_error(&self) -> Option<&str> {
        self.errors.general("code,name,kind,level,street_id,lon,lat,owner,water_body,water_kind,target_class,outlet_id,outlet")
    }
}

/// The outlet picker of the point form: the outlet by its enterprise's and its own name.
async fn outlet_picker(
    state: &AppState,
    principal: &Principal,
    form: &PointForm,
    errors: &FormErrors,
) -> AppResult<Picker> {
    let mut text = form.outlet.clone();
    if text.is_empty()
        && let Ok(id) = form.outlet_id.trim().parse::<i64>()
        && let Ok(choice) = service::outlet_choice(&state.db, principal, id).await
    {
        text = choice.label;
    }
    let first = service::search_outlets(
        &state.db,
        principal,
        &OutletFilter::default(),
        &PageQuery {
            page: Some(1),
            per_page: Some(PICKER_OPTIONS),
        },
    )
    .await
    .map(|page| page.items)
    .unwrap_or_default();
    Ok(Picker {
        label: "排放口（排放口在线监测点位）",
        text_name: "outlet",
        id_name: "outlet_id",
        text,
        id: form.outlet_id.clone(),
        api: "/api/v1/outlets",
        label_fields: "label",
        options: first.into_iter().map(|o| (o.id, o.label)).collect(),
        placeholder: "企业或排放口名称",
        required: false,
        error: errors
            .of("outlet")
            .or_else(|| errors.of("outlet_id"))
            .map(str::to_string),
    })
}

async fn point_form(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    form: PointForm,
    errors: FormErrors,
) -> PageResult {
    let path = match id {
        Some(id) => format!("/registry/points/{id}/edit"),
        None => "/registry/points/new".to_string(),
    };
    let page = PointFormPage {
        chrome: chrome(state, principal, &path),
        id,
        kinds: enum_options!(PointKind, &form.kind, None),
        levels: enum_options!(PointLevel, &form.level, None),
        streets: street_options(state, principal, &form.street_id, Some("（无 / 随企业）")).await?,
        water_kinds: enum_options!(WaterKind, &form.water_kind, Some("（非水质断面）")),
        outlet: outlet_picker(state, principal, &form, &errors).await?,
        form,
        errors,
    };
    let mut response = render(&page)?;
    if page.errors.message.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn new_point_page(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::MONITORING_POINT, Action::Create)?;
    let form = PointForm {
        active: true,
        ..Default::default()
    };
    point_form(&state, &principal, None, form, FormErrors::default()).await
}

async fn create_point(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_point(&state, &who(caller)?, None, &body).await
}

/// Creates (`id` = `None`) or updates a monitoring point from its form.
async fn save_point(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = PointForm::from_post(&FormData::parse(body));
    let picked = service::Picked::new(Some(form.outlet_id.clone()), Some(form.outlet.clone()));
    let input = match service::pick_outlet(&state.db, principal, "outlet", &picked).await {
        Ok(outlet_id) => form.input(outlet_id),
        Err(e) => Err(e),
    };
    let result = match (input, id) {
        (Err(e), _) => Err(e),
        (Ok(input), None) => service::create_point(&state.db, principal, &input).await,
        (Ok(input), Some(id)) => service::update_point(&state.db, principal, id, &input).await,
    };
    match result {
        Ok(saved) => see_other(format!("/registry/points/{}", saved.id)),
        Err(err) => point_form(state, principal, id, form, form_errors(err)?).await,
    }
}

async fn edit_point_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::MONITORING_POINT, Action::Update)?;
    let id = parse_id(&id)?;
    let point = service::get_point(&state.db, &principal, id).await?;
    point_form(
        &state,
        &principal,
        Some(id),
        PointForm::from_point(&point),
        FormErrors::default(),
    )
    .await
}

async fn update_point(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    save_point(&state, &who(caller)?, Some(parse_id(&id)?), &body).await
}

// ---------------------------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/devices.html")]
struct DevicesPage {
    chrome: Chrome,
    list: Page<Device>,
    page: u32,
    pages: u32,
    total: i64,
    pager_base: String,
    q: String,
    point: Picker,
    can_create: bool,
    can_edit: bool,
}

/// The device list's point filter as typed (the picker's text field; `point_id` is the `DeviceFilter`'s).
#[derive(serde::Deserialize, Default)]
struct PointQuery {
    point: Option<String>,
}

async fn devices_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    let query = query.unwrap_or_default();
    let mut filter: DeviceFilter = parse_query(&query)?;
    let paging: PageQuery = parse_query(&query)?;
    // The point filter is chosen by name; what cannot be resolved is said beside the field.
    let typed: PointQuery = parse_query(&query)?;
    let picked = service::Picked::new(
        filter.point_id.map(|id| id.to_string()),
        typed.point.clone(),
    );
    let point_error = match service::pick_point(&state.db, &principal, "point", &picked).await {
        Ok(point_id) => {
            filter.point_id = point_id;
            None
        }
        Err(AppError::Validation { message, .. }) => Some(message),
        Err(other) => return Err(other.into()),
    };
    let page = service::list_devices(&state.db, &principal, &filter, &paging).await?;
    let point = point_picker(
        &state,
        &principal,
        "监测点位",
        (
            &id_text(filter.point_id),
            typed.point.as_deref().unwrap_or(""),
        ),
        false,
        point_error,
    )
    .await?;
    render(&DevicesPage {
        point,
        chrome: chrome(&state, &principal, "/registry/devices"),
        pages: page.pages(),
        total: page.total,
        page: page.page,
        list: page,
        pager_base: pager_base("/registry/devices", &filter),
        q: filter.q.clone().unwrap_or_default(),
        can_create: principal.can(crate::DEVICE, Action::Create),
        can_edit: principal.can(crate::DEVICE, Action::Update),
    })
}

async fn device_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    let id = parse_id(&id)?;
    // A device is small enough that its detail is its form; read-only roles get the list filtered to it.
    let device = service::get_device(&state.db, &principal, id).await?;
    if principal.can(crate::DEVICE, Action::Update) {
        see_other(format!("/registry/devices/{id}/edit"))
    } else {
        see_other(format!("/registry/devices?q={}", device.mn))
    }
}

#[derive(Default)]
struct DeviceForm {
    mn: String,
    password: String,
    protocol: String,
    crc_mode: String,
    /// The point picker: the chosen point's id and the text beside it (kernel::picker).
    point_id: String,
    point: String,
    model: String,
    active: bool,
    version: String,
}

impl DeviceForm {
    fn from_device(d: &Device) -> Self {
        DeviceForm {
            mn: d.mn.clone(),
            // The form never shows the stored password; leaving the field empty keeps it.
            password: String::new(),
            protocol: d.protocol.as_str().to_string(),
            crc_mode: d.crc_mode.as_str().to_string(),
            point_id: d.point_id.to_string(),
            point: String::new(),
            model: d.model.clone(),
            active: d.active,
            version: d.version.to_string(),
        }
    }

    fn from_post(form: &FormData) -> Self {
        DeviceForm {
            mn: form.get("mn"),
            password: form.get("password"),
            protocol: form.get("protocol"),
            crc_mode: form.get("crc_mode"),
            point_id: form.get("point_id"),
            point: form.get("point"),
            model: form.get("model"),
            active: form.checked("active"),
            version: form.get("version"),
        }
    }

    /// The device as typed, for the point its picker names.
    fn input(&self, point_id: Option<i64>) -> Result<DeviceInput, AppError> {
        Ok(DeviceInput {
            mn: self.mn.clone(),
            password: Some(self.password.clone()),
            protocol: Protocol::parse_field("protocol", &self.protocol)?,
            crc_mode: Some(CrcMode::parse_field("crc_mode", &self.crc_mode)?),
            point_id: point_id.ok_or_else(|| AppError::validation("point", "请选择监测点位"))?,
            model: self.model.clone(),
            active: Some(self.active),
            version: form_i64("version", Some(&self.version))?,
        })
    }
}

#[derive(Template)]
#[template(path = "registry/device_form.html")]
struct DeviceFormPage {
    chrome: Chrome,
    id: Option<i64>,
    form: DeviceForm,
    errors: FormErrors,
    protocols: Vec<Opt>,
    crc_modes: Vec<Opt>,
    point: Picker,
}

impl DeviceFormPage {
    fn general_error(&self) -> Option<&str> {
        self.errors
            .general("mn,password,protocol,crc_mode,point_id,point,model")
    }
}

/// A picker of the monitoring points the caller may see, by `编号 名称` (`point` and `point_id`).
async fn point_picker(
    state: &AppState,
    principal: &Principal,
    label: &'static str,
    (id, text): (&str, &str),
    required: bool,
    error: Option<String>,
) -> AppResult<Picker> {
    let mut text = text.to_string();
    if text.is_empty()
        && let Ok(id) = id.trim().parse::<i64>()
        && let Ok(point) = service::get_point(&state.db, principal, id).await
    {
        text = point.picker_label();
    }
    let first = service::list_points(
        &state.db,
        principal,
        &PointFilter::default(),
        &PageQuery {
            page: Some(1),
            per_page: Some(PICKER_OPTIONS),
        },
    )
    .await
    .map(|page| page.items)
    .unwrap_or_default();
    Ok(Picker {
        label,
        text_name: "point",
        id_name: "point_id",
        text,
        id: id.to_string(),
        api: "/api/v1/points",
        label_fields: "code name",
        options: first.iter().map(|p| (p.id, p.picker_label())).collect(),
        placeholder: "点位编码或名称",
        required,
        error,
    })
}

async fn device_form(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    form: DeviceForm,
    errors: FormErrors,
) -> PageResult {
    let path = match id {
        Some(id) => format!("/registry/devices/{id}/edit"),
        None => "/registry/devices/new".to_string(),
    };
    let page = DeviceFormPage {
        chrome: chrome(state, principal, &path),
        id,
        protocols: enum_options!(Protocol, &form.protocol, None),
        crc_modes: enum_options!(CrcMode, &form.crc_mode, None),
        point: point_picker(
            state,
            principal,
            "监测点位",
            (&form.point_id, &form.point),
            true,
            errors
                .of("point")
                .or_else(|| errors.of("point_id"))
                .map(str::to_string),
        )
        .await?,
        form,
        errors,
    };
    let mut response = render(&page)?;
    if page.errors.message.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn new_device_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::DEVICE, Action::Create)?;
    let filter: DeviceFilter = parse_query(&query.unwrap_or_default())?;
    let form = DeviceForm {
        protocol: Protocol::V2017.as_str().to_string(),
        crc_mode: CrcMode::Strict.as_str().to_string(),
        point_id: id_text(filter.point_id),
        active: true,
        ..Default::default()
    };
    device_form(&state, &principal, None, form, FormErrors::default()).await
}

async fn create_device(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_device(&state, &who(caller)?, None, &body).await
}

/// Creates (`id` = `None`) or updates a device from its form; done, it shows the point the device feeds.
async fn save_device(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = DeviceForm::from_post(&FormData::parse(body));
    let picked = service::Picked::new(Some(form.point_id.clone()), Some(form.point.clone()));
    let input = match service::pick_point(&state.db, principal, "point", &picked).await {
        Ok(point_id) => form.input(point_id),
        Err(e) => Err(e),
    };
    let result = match (input, id) {
        (Err(e), _) => Err(e),
        (Ok(input), None) => service::create_device(&state.db, principal, &input).await,
        (Ok(input), Some(id)) => service::update_device(&state.db, principal, id, &input).await,
    };
    match result {
        Ok(saved) => see_other(format!("/registry/points/{}", saved.point_id)),
        Err(err) => device_form(state, principal, id, form, form_errors(err)?).await,
    }
}

async fn edit_device_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::DEVICE, Action::Update)?;
    let id = parse_id(&id)?;
    let device = service::get_device(&state.db, &principal, id).await?;
    device_form(
        &state,
        &principal,
        Some(id),
        DeviceForm::from_device(&device),
        FormErrors::default(),
    )
    .await
}

async fn update_device(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    save_device(&state, &who(caller)?, Some(parse_id(&id)?), &body).await
}

// ---------------------------------------------------------------------------------------------------------------
// Streets and departments
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/organisation.html")]
struct OrganisationPage {
    chrome: Chrome,
    district: Option<District>,
    streets: Vec<Street>,
    departments: Vec<Department>,
    can_create: bool,
    can_update: bool,
    street_errors: FormErrors,
    department_errors: FormErrors,
    department_kinds: Vec<Opt>,
    /// The values typed into a rejected form, to show them again.
    street_form: (String, String),
    department_form: (String, String, String),
    /// Why saving a row of a table failed (shown above that table).
    street_update_error: Option<String>,
    department_update_error: Option<String>,
}

#[derive(Default)]
struct OrganisationErrors {
    street: FormErrors,
    department: FormErrors,
    street_form: (String, String),
    department_form: (String, String, String),
    street_update_error: Option<String>,
    department_update_error: Option<String>,
}

impl FormErrors {
    /// The whole error as one line, field first: for row forms that have no room beside each field.
    fn line(self) -> Option<String> {
        match (self.field, self.message) {
            (Some(field), Some(message)) => Some(format!("{field}：{message}")),
            (None, message) => message,
            (Some(_), None) => None,
        }
    }
}

async fn organisation(
    state: &AppState,
    principal: &Principal,
    errors: OrganisationErrors,
) -> PageResult {
    let has_errors = errors.street.message.is_some()
        || errors.department.message.is_some()
        || errors.street_update_error.is_some()
        || errors.department_update_error.is_some();
    let page = OrganisationPage {
        chrome: chrome(state, principal, "/registry/organisation"),
        district: service::district(&state.db, principal).await?,
        streets: service::list_streets(&state.db, principal).await?,
        departments: service::list_departments(&state.db, principal).await?,
        can_create: principal.can(crate::ORGANISATION, Action::Create),
        can_update: principal.can(crate::ORGANISATION, Action::Update),
        street_errors: errors.street,
        department_errors: errors.department,
        department_kinds: enum_options!(DepartmentKind, &errors.department_form.2, None),
        street_form: errors.street_form,
        department_form: errors.department_form,
        street_update_error: errors.street_update_error,
        department_update_error: errors.department_update_error,
    };
    let mut response = render(&page)?;
    if has_errors {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn organisation_page(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    organisation(&state, &principal, OrganisationErrors::default()).await
}

async fn create_street(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_street(&state, &who(caller)?, None, &body).await
}

async fn update_street(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    save_street(&state, &who(caller)?, Some(parse_id(&id)?), &body).await
}

/// Creates (`id` = `None`) or updates a street from the organisation page.
async fn save_street(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = FormData::parse(body);
    let typed = (form.get("code"), form.get("name"));
    let result = async {
        let input = StreetInput {
            code: typed.0.clone(),
            name: typed.1.clone(),
            district_code: form.opt("district_code"),
            center_lon: form_f64("center_lon", Some(&form.get("center_lon")))?,
            center_lat: form_f64("center_lat", Some(&form.get("center_lat")))?,
        };
        match id {
            None => service::create_street(&state.db, principal, &input).await,
            Some(id) => service::update_street(&state.db, principal, id, &input).await,
        }
    }
    .await;
    match result {
        Ok(_) => see_other("/registry/organisation".to_string()),
        Err(err) => {
            let errors = match id {
                None => OrganisationErrors {
                    street: form_errors(err)?,
                    street_form: typed,
                    ..Default::default()
                },
                Some(_) => OrganisationErrors {
                    street_update_error: form_errors(err)?.line(),
                    ..Default::default()
                },
            };
            organisation(state, principal, errors).await
        }
    }
}

async fn create_department(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_department(&state, &who(caller)?, None, &body).await
}

async fn update_department(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    save_department(&state, &who(caller)?, Some(parse_id(&id)?), &body).await
}

/// Creates (`id` = `None`) or updates a department from the organisation page.
async fn save_department(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = FormData::parse(body);
    let typed = (form.get("code"), form.get("name"), form.get("kind"));
    let result = async {
        let input = DepartmentInput {
            code: typed.0.clone(),
            name: typed.1.clone(),
            kind: DepartmentKind::parse_field("kind", &typed.2)?,
            duties: form.get("duties"),
        };
        match id {
            None => service::create_department(&state.db, principal, &input).await,
            Some(id) => service::update_department(&state.db, principal, id, &input).await,
        }
    }
    .await;
    match result {
        Ok(_) => see_other("/registry/organisation".to_string()),
        Err(err) => {
            let errors = match id {
                None => OrganisationErrors {
                    department: form_errors(err)?,
                    department_form: typed,
                    ..Default::default()
                },
                Some(_) => OrganisationErrors {
                    department_update_error: form_errors(err)?.line(),
                    ..Default::default()
                },
            };
            organisation(state, principal, errors).await
        }
    }
}
