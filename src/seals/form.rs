//! The printed application form (电子印章申请表) of a seal application, as a PDF with the
//! application number in a QR code: printed, stamped at 单位盖章, scanned and uploaded back.

use super::application::Data;
use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::store::StoreError;

impl App {
    /// The form of application `id`, for those who may read the application.
    pub async fn seal_application_form(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<u8>, AppError> {
        let v = self.seal_application(actor, id).await?;
        let d = Data::stored(&v.data)?;
        let org = self.org(&d.org_id).await?;
        let authority = self.org(&d.authority_id).await?;
        let who = self
            .store
            .account_get(&v.created_by)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("application {id}: creator gone")))?;
        let date = crate::accounts::ids::Date::today_in_china();
        let data = sealpki_pki::pdf::form::FormData {
            application_no: v.id.clone(),
            unit_name: org.name,
            credit_code: org.credit_code,
            seal_name: d.seal_name.clone(),
            seal_type: d.seal_type().zh().to_string(),
            signing_mode: match d.mode() {
                super::SigningMode::Cloud => "云签章 (cloud)".into(),
                super::SigningMode::Ukey => "UKey".into(),
            },
            validity: format!(
                "{} 年 ({} year{})",
                d.years,
                d.years,
                if d.years > 1 { "s" } else { "" }
            ),
            authority: authority.name,
            applicant: who.real_name.unwrap_or(who.username),
            phone: who
                .mobile
                .as_deref()
                .map(crate::notify::sms::mask)
                .unwrap_or_default(),
            date: date.to_string(),
        };
        let fonts = super::font::fonts(self.config.seals.font.as_deref())?;
        tokio::task::spawn_blocking(move || {
            sealpki_pki::pdf::form::application_form(&fonts.form, fonts.form_bold.as_ref(), &data)
                .map_err(|e| AppError::Internal(format!("application form: {e}")))
        })
        .await
        .map_err(|e| AppError::Internal(format!("application form task: {e}")))?
    }
}
