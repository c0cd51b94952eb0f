//! Choosing a record by name on a form (企业, 点位, 排放口 …), never by typing its id: a text field with a
//! suggestion list (`<datalist>`) and a hidden field for the id. The page's script `picker.js` (in
//! `crates/web/assets/`) refreshes the suggestions from the area's list API as the user types and fills the
//! hidden id when an entry is chosen; without the script the server resolves the text (a name, a code, the
//! list's label) through the area's service (`registry::service::pick_*`), so the form works either way.
//! Render with `{{ picker|safe }}` (askama escapes every value inside).

use askama::Template;

#[derive(Debug, Clone, Template)]
#[template(path = "picker.html")]
pub struct Picker {
    /// The field's label (企业, 监测点位 …).
    pub label: &'static str,
    /// The visible text field's name (`enterprise`), and the hidden id field's (`enterprise_id`).
    pub text_name: &'static str,
    pub id_name: &'static str,
    /// What the fields hold now: the chosen record's label and id, or what was typed.
    pub text: String,
    pub id: String,
    /// The list API the script searches with `?q=` (`/api/v1/enterprises`), and the fields of each item that
    /// make its label, space-separated (`code name`).
    pub api: &'static str,
    pub label_fields: &'static str,
    /// The first suggestions, (id, label), before anything is typed (and the whole list without the script).
    pub options: Vec<(i64, String)>,
    pub placeholder: &'static str,
    pub required: bool,
    pub error: Option<String>,
}

impl Picker {
    /// The `<datalist>` id, unique on a page with one picker per field.
    pub fn list_id(&self) -> String {
        format!("{}-choices", self.text_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_text_field_a_hidden_id_and_the_choices_escaped() {
        let html = Picker {
            label: "企业",
            text_name: "enterprise",
            id_name: "enterprise_id",
            text: "甲<厂>".into(),
            id: "7".into(),
            api: "/api/v1/enterprises",
            label_fields: "name",
            options: vec![(7, "甲<厂>".into())],
            placeholder: "输入名称搜索",
            required: false,
            error: None,
        }
        .render()
        .unwrap();
        assert!(
            html.contains(r#"<input type="hidden" name="enterprise_id" value="7">"#),
            "{html}"
        );
        assert!(
            html.contains("甲&#60;厂&#62;") || html.contains("甲&lt;厂&gt;"),
            "{html}"
        );
        assert!(html.contains(r#"list="enterprise-choices""#), "{html}");
    }
}
