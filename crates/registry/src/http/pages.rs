use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
