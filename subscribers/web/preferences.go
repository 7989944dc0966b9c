package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/subscribers"
)

// The preference page: GET /preferences?token=… shows it and changes
// nothing (HEAD too: mail scanners open every link); its forms POST
// /preferences with the token, a CSRF token and an action (save, pause,
// resume, export, erase), and pass the Origin / Sec-Fetch-Site check of
// the sign-up form. A change answers 303 to the page again with what was
// done; the export is a JSON download; erasing shows a last page.

// cadenceOption is one cadence a series offers, as a radio button.
type cadenceOption struct {
	Value, Label, Describe string
	Checked                bool
}

// prefsList is one series on the preference page.
type prefsList struct {
	Slug, Title, Description string
	Subscribed               bool
	Options                  []cadenceOption // empty when the series offers one cadence only
	Cadence                  string          // the one it offers then, in words
}

// prefsPage is what the preference page shows.
type prefsPage struct {
	Token, FormToken string
	Email, Name      string
	Lists            []prefsList
	PausedUntil      time.Time // zero: not paused
	PauseWeeks       []int
	Done, Error      string
}

// done are the messages a change leaves on the page.
var done = map[string]string{
	"saved":   "Your preferences are saved.",
	"paused":  "Your emails are paused.",
	"resumed": "Your emails are on again.",
}

func cadenceOptions(o subscribers.Offer, current subscribers.Cadence) []cadenceOption {
	if len(o.Cadences) < 2 {
		return nil
	}
	out := make([]cadenceOption, len(o.Cadences))
	for i, c := range o.Cadences {
		out[i] = cadenceOption{Value: string(c), Label: c.Label(), Describe: c.Describe(), Checked: c == current}
	}
	return out
}

func (h *Handler) prefsData(tok string, r *subscribers.Reader) prefsPage {
	d := prefsPage{Token: tok, FormToken: h.svc.Signer().FormToken(h.svc.Now().Add(h.opts.FormTTL)),
		Email: r.Subscriber.Email, Name: r.Subscriber.Name, PauseWeeks: subscribers.PauseWeeks}
	if r.Paused(h.svc.Now()) {
		d.PausedUntil = r.Preferences.PausedUntil
	}
	for _, l := range r.Lists {
		d.Lists = append(d.Lists, prefsList{Slug: l.Slug, Title: l.Title, Description: l.Description, Subscribed: l.Subscribed,
			Options: cadenceOptions(l.Offer, l.Cadence), Cadence: l.Cadence.Describe()})
	}
	return d
}

// prefsFailed answers a request whose token or change was refused.
func (h *Handler) prefsFailed(w http.ResponseWriter, r *http.Request, err error) {
	status := response.Status(err)
	response.LogServerError(r, h.log, status, err)
	switch {
	case errors.Is(err, subscribers.ErrTokenExpired):
		h.errorPage(w, status, "Link expired", "This preferences link has expired: nothing was changed. The link at the bottom of any email we have sent you since works.")
	case errors.Is(err, subscribers.ErrInvalidToken):
		h.errorPage(w, status, "Invalid link", "This preferences link is not valid: nothing was changed. Please copy the whole link from the email.")
	default:
		h.errorPage(w, status, "Error", "Something went wrong on our side: nothing was changed. Please try again later.")
	}
}

func (h *Handler) getPreferences(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	rd, err := h.svc.OpenPreferences(r.Context(), tok)
	if err != nil {
		h.prefsFailed(w, r, err)
		return
	}
	d := h.prefsData(tok, rd)
	d.Done = done[r.URL.Query().Get("done")]
	h.render(w, http.StatusOK, "preferences", pageData{Title: "Your email preferences", Prefs: &d})
}

// prefsURL is the page of tok, with what was done.
func prefsURL(tok, what string) string {
	return "/preferences?" + url.Values{"token": {tok}, "done": {what}}.Encode()
}

func (h *Handler) postPreferences(w http.ResponseWriter, r *http.Request) {
	if !h.sameOrigin(r) {
		h.errorPage(w, http.StatusForbidden, "Forbidden", "This form can only be sent from this site: nothing was changed.")
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	if err := h.svc.Signer().VerifyFormToken(r.PostFormValue("csrf"), h.svc.Now()); err != nil {
		h.errorPage(w, http.StatusForbidden, "Form expired", "This form has expired or did not come from this site: nothing was changed. Please reload the page and try again.")
		return
	}
	tok := r.PostFormValue("token")
	ctx := r.Context()
	switch r.PostFormValue("action") {
	case "save":
		ch := subscribers.PreferenceChange{Lists: map[string]bool{}, Cadences: map[string]subscribers.Cadence{}}
		for _, l := range h.svc.Lists() {
			ch.Lists[l.Slug] = false
			if c := r.PostFormValue("cadence-" + l.Slug); c != "" {
				ch.Cadences[l.Slug] = subscribers.Cadence(c)
			}
		}
		for _, slug := range r.PostForm["list"] {
			ch.Lists[slug] = true
		}
		if _, ok := r.PostForm["name"]; ok {
			name := r.PostFormValue("name")
			ch.Name = &name
		}
		rd, err := h.svc.ChangePreferences(ctx, tok, ch)
		switch {
		case errors.Is(err, subscribers.ErrInvalidName), errors.Is(err, subscribers.ErrUnknownList), errors.Is(err, subscribers.ErrUnknownCadence):
			rd, oerr := h.svc.OpenPreferences(ctx, tok)
			if oerr != nil {
				h.prefsFailed(w, r, oerr)
				return
			}
			d := h.prefsData(tok, rd)
			d.Error = "Nothing was saved: " + userMessage(err)
			h.render(w, response.Status(err), "preferences", pageData{Title: "Your email preferences", Prefs: &d})
			return
		case err != nil:
			h.prefsFailed(w, r, err)
			return
		}
		_ = rd
		http.Redirect(w, r, prefsURL(tok, "saved"), http.StatusSeeOther)
	case "pause":
		weeks, _ := strconv.Atoi(r.PostFormValue("weeks"))
		if _, err := h.svc.PauseMail(ctx, tok, weeks); err != nil {
			h.prefsFailed(w, r, err)
			return
		}
		http.Redirect(w, r, prefsURL(tok, "paused"), http.StatusSeeOther)
	case "resume":
		if _, err := h.svc.ResumeMail(ctx, tok); err != nil {
			h.prefsFailed(w, r, err)
			return
		}
		http.Redirect(w, r, prefsURL(tok, "resumed"), http.StatusSeeOther)
	case "export":
		data, err := h.svc.ExportData(ctx, tok)
		if err != nil {
			h.prefsFailed(w, r, err)
			return
		}
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			h.prefsFailed(w, r, err)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="my-subscription-data.json"`)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Length", strconv.Itoa(len(b)+1))
		_, _ = w.Write(append(b, '\n'))
	case "erase":
		if r.PostFormValue("confirm") != "1" {
			rd, err := h.svc.OpenPreferences(ctx, tok)
			if err != nil {
				h.prefsFailed(w, r, err)
				return
			}
			d := h.prefsData(tok, rd)
			d.Error = "Nothing was erased: tick the box to confirm first."
			h.render(w, http.StatusBadRequest, "preferences", pageData{Title: "Your email preferences", Prefs: &d})
			return
		}
		if err := h.svc.Erase(ctx, tok); err != nil {
			h.prefsFailed(w, r, err)
			return
		}
		h.render(w, http.StatusOK, "preferences_erased", pageData{Title: "Your data is erased"})
	default:
		h.errorPage(w, http.StatusBadRequest, "Bad request", "This form could not be understood: nothing was changed.")
	}
}
