//! Paging for lists: `?page=1&per_page=50`, bounded so a client cannot ask for everything at once.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page (default 50, at most 500).
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page())
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page() - 1) * self.limit()
    }
}

/// One page of a list, with the total so clients can page.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, query: &PageQuery, total: i64) -> Self {
        Page {
            items,
            page: query.page(),
            per_page: query.per_page(),
            total,
        }
    }

    pub fn pages(&self) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per_page - 1) / per_page).unwrap_or(u32::MAX)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_page_size() {
        let q = PageQuery {
            page: Some(0),
            per_page: Some(100_000),
        };
        assert_eq!(q.page(), 1);
        assert_eq!(q.per_page(), MAX_PER_PAGE);
        assert_eq!(q.offset(), 0);
        let q = PageQuery {
            page: Some(3),
            per_page: Some(20),
        };
        assert_eq!(q.offset(), 40);
        let page = Page::new(vec![1], &q, 41);
        assert_eq!(page.pages(), 3);
    }
}
