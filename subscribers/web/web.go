// Package web serves the subscriber pages: the sign-up form (GET/POST
// /subscribe, form or JSON), confirmation (GET shows a page with a Confirm
// button, only its POST confirms: link scanners fetch every URL in a
// message) and unsubscribe (GET shows a page, POST unsubscribes, RFC 8058
// one-click included).
//
// Client IPs for the per-client rate limit and the consent record come
// from the connection's RemoteAddr. Behind a reverse proxy, set
// Options.ClientIP to a clientip.Resolver's String (http.trusted_proxies),
// which then reads the one header those proxies set, from them only.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/templates"
)

// DefaultMaxBodyBytes bounds a POST body.
const DefaultMaxBodyBytes = 16 << 10

// Options tune the handlers.
type Options struct {
	// Pages renders the pages (brand, navigation); nil: a plain site
	// named Product in Lang.
	Pages   *templates.Renderer
	Product string // the site's name when Pages is nil
	Lang    string // html lang when Pages is nil, default "en"
	// MaxBodyBytes bounds request bodies (default 16 KiB); larger → 413.
	MaxBodyBytes int64
	// FormTTL is how long a sign-up form's anti-CSRF token works (default 12 h).
	FormTTL time.Duration
	// ClientIP returns the client address used for rate limiting and the
	// consent record; default: the host part of RemoteAddr.
	ClientIP func(*http.Request) string
	Logger   *slog.Logger
}

// Handler serves the subscriber pages.
type Handler struct {
	svc   *subscribers.Service
	opts  Options
	pages *templates.Renderer
	base  *url.URL
	log   *slog.Logger
}

// New parses the page templates and returns the handler.
func New(svc *subscribers.Service, opts Options) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("web: nil service")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.FormTTL <= 0 {
		opts.FormTTL = 12 * time.Hour
	}
	if opts.ClientIP == nil {
		opts.ClientIP = RemoteIP
	}
	if opts.Product == "" {
		opts.Product = "Syndicated"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Pages == nil {
		site := templates.Site{Brand: templates.Brand{Name: opts.Product}, Lang: opts.Lang, BaseURL: svc.URL("", nil)}
		for _, l := range svc.Lists() {
			site.Digests = append(site.Digests, templates.Feed{Slug: l.Slug, Title: l.Title, Series: true})
		}
		p, err := templates.New(site)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		opts.Pages = p
	}
	h := &Handler{svc: svc, opts: opts, pages: opts.Pages, log: opts.Logger}
	base, err := url.Parse(svc.URL("/", nil))
	if err != nil {
		return nil, err
	}
	h.base = base
	return h, nil
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /subscribe", h.getSubscribe)
	mux.HandleFunc("POST /subscribe", h.postSubscribe)
	mux.HandleFunc("GET /confirm", h.getConfirm)
	mux.HandleFunc("POST /confirm", h.postConfirm)
	mux.HandleFunc("GET /unsubscribe", h.getUnsubscribe)
	mux.HandleFunc("POST /unsubscribe", h.postUnsubscribe)
	mux.HandleFunc("GET /preferences", h.getPreferences)
	mux.HandleFunc("POST /preferences", h.postPreferences)
}

// RemoteIP is the host part of r.RemoteAddr.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type listOption struct {
	Slug, Title string
	Checked     bool
	Options     []cadenceOption // the cadences it offers, when several
}

// pageData is what the subscriber pages show. Email is the address a
// confirm or unsubscribe page is about: the page shows it masked.
type pageData struct {
	Title          string
	Action         string
	Error          string
	FormToken      string
	Email, Name    string
	Lists          []listOption
	ConfirmedLists []subscribers.List
	ListTitle      string
	All            bool
	SubscribeURL   string
	Token          string // the confirmation token, posted back by the button
	Prefs          *prefsPage
	Cadences       bool // some list offers several cadences
}

func (h *Handler) render(w http.ResponseWriter, status int, page string, d pageData) {
	d.SubscribeURL = "/subscribe"
	h.headers(w)
	nav := ""
	if page == "subscribe" {
		nav = "subscribe"
	}
	if err := h.pages.Render(w, status, page, templates.Page{Title: d.Title, Nav: nav, Data: d}); err != nil {
		h.log.Error("web: render", "page", page, "error", err)
	}
}

// headers are every subscriber page's: no caching, no Referer to other
// sites, a tight Content-Security-Policy.
func (h *Handler) headers(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	// The URLs carry tokens: never send them to another site as a Referer.
	// (Not no-referrer: with it, browsers send "Origin: null" on our own
	// form posts, which the CSRF check must refuse.)
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", h.pages.CSP())
}

func (h *Handler) errorPage(w http.ResponseWriter, status int, title, msg string) {
	h.headers(w)
	h.pages.ErrorPage(w, status, title, msg)
}

func (h *Handler) formData(email, name string, lists []string, cadences map[string]subscribers.Cadence, errMsg string) pageData {
	d := pageData{
		Title: "Subscribe", Action: "/subscribe", Error: errMsg, Email: email, Name: name,
		FormToken: h.svc.Signer().FormToken(h.svc.Now().Add(h.opts.FormTTL)),
	}
	for i, l := range h.svc.Lists() {
		checked := len(lists) == 0 && i == 0
		for _, x := range lists {
			checked = checked || x == l.Slug
		}
		o := l.Offer()
		d.Lists = append(d.Lists, listOption{Slug: l.Slug, Title: l.Title, Checked: checked,
			Options: cadenceOptions(o, o.Effective(cadences[l.Slug]))})
		d.Cadences = d.Cadences || len(o.Cadences) > 1
	}
	return d
}

func (h *Handler) getSubscribe(w http.ResponseWriter, r *http.Request) {
	var pre []string
	if l := r.URL.Query().Get("list"); l != "" {
		pre = []string{l}
	}
	h.render(w, http.StatusOK, "subscribe", h.formData("", "", pre, nil, ""))
}

// sameOrigin rejects cross-site form posts: Sec-Fetch-Site must be
// same-origin or none when present, and Origin, when present, must be this
// site (the base URL's origin or the request's own host).
func (h *Handler) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, h.base.Host) && u.Scheme == h.base.Scheme {
		return true
	}
	return strings.EqualFold(u.Host, r.Host)
}

type subscribeJSON struct {
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Lists   []string `json:"lists"`
	Website string   `json:"website"` // honeypot
	// Cadences by list slug: "weekly", "daily" or "story".
	Cadences map[string]subscribers.Cadence `json:"cadences"`
}

const acceptedMsg = "If the address can receive mail, a message with a confirmation link is on its way."

func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func (h *Handler) postSubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := ct == "application/json"
	// fail answers err (its status from the response table) with msg, the
	// words a reader sees.
	fail := func(err error, msg string) {
		status, body := response.Body(err)
		response.LogServerError(r, h.log, status, err)
		if isJSON {
			body.Error = msg
			response.JSON(w, status, body)
			return
		}
		h.errorPage(w, status, http.StatusText(status), msg)
	}
	if !h.sameOrigin(r) {
		fail(response.ErrForbidden, "This form can only be sent from this site.")
		return
	}
	var in subscribeJSON
	switch ct {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			if isTooLarge(err) {
				fail(err, "The request is too large.")
				return
			}
			fail(response.ErrBadRequest, "The request is not valid JSON of the expected shape.")
			return
		}
		if dec.More() {
			fail(response.ErrBadRequest, "The request has trailing data.")
			return
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		var err error
		if ct == "multipart/form-data" {
			err = r.ParseMultipartForm(h.opts.MaxBodyBytes)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			if isTooLarge(err) {
				fail(err, "The form is too large.")
				return
			}
			fail(response.ErrBadRequest, "The form could not be read.")
			return
		}
		if err := h.svc.Signer().VerifyFormToken(r.PostFormValue("csrf"), h.svc.Now()); err != nil {
			fail(response.ErrForbidden, "This form has expired or did not come from this site. Please reload the page and try again.")
			return
		}
		in = subscribeJSON{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Lists: r.PostForm["list"], Website: r.PostFormValue("website"),
			Cadences: map[string]subscribers.Cadence{}}
		for _, l := range h.svc.Lists() {
			if c := r.PostFormValue("cadence-" + l.Slug); c != "" {
				in.Cadences[l.Slug] = subscribers.Cadence(c)
			}
		}
	default:
		fail(response.ErrUnsupportedMediaType, "Send a form or JSON.")
		return
	}
	accepted := func() {
		if isJSON {
			response.JSON(w, http.StatusAccepted, map[string]string{"status": "accepted", "message": acceptedMsg})
			return
		}
		h.render(w, http.StatusOK, "subscribe_sent", pageData{Title: "Check your inbox"})
	}
	if in.Website != "" {
		h.log.Info("web: honeypot filled, sign-up ignored")
		accepted()
		return
	}
	source := "web"
	if isJSON {
		source = "api"
	}
	err := h.svc.Subscribe(r.Context(), subscribers.Request{
		Email: in.Email, Name: in.Name, Lists: in.Lists,
		IP: h.opts.ClientIP(r), UserAgent: r.UserAgent(), Source: source,
		Cadences: in.Cadences,
	})
	switch {
	case err == nil:
		accepted()
	case errors.Is(err, subscribers.ErrRateLimited):
		w.Header().Set("Retry-After", "120")
		fail(err, "Too many requests from your network. Please try again in a few minutes.")
	case errors.Is(err, subscribers.ErrInvalidEmail), errors.Is(err, subscribers.ErrInvalidName), errors.Is(err, subscribers.ErrUnknownList),
		errors.Is(err, subscribers.ErrUnknownCadence):
		msg := userMessage(err)
		if isJSON {
			fail(err, msg)
			return
		}
		d := h.formData(in.Email, in.Name, in.Lists, in.Cadences, msg)
		if !strings.ContainsAny(in.Email+in.Name, "\r\n") {
			d.Email, d.Name = strings.TrimSpace(in.Email), strings.TrimSpace(in.Name)
		} else {
			d.Email, d.Name = "", ""
		}
		h.render(w, response.Status(err), "subscribe", d)
	default:
		fail(err, "Something went wrong on our side. Please try again later.")
	}
}

func userMessage(err error) string {
	switch {
	case errors.Is(err, subscribers.ErrInvalidEmail):
		return "Please enter a valid email address (" + strings.TrimPrefix(err.Error(), subscribers.ErrInvalidEmail.Error()+": ") + ")."
	case errors.Is(err, subscribers.ErrInvalidName):
		return "Please enter a name on one line, or leave it empty."
	case errors.Is(err, subscribers.ErrUnknownList):
		return "Please choose lists from the form."
	case errors.Is(err, subscribers.ErrUnknownCadence):
		return "Please choose how often from the form."
	}
	return "Invalid request."
}

// getConfirm shows what a confirmation link would do and a Confirm button;
// it changes nothing, since mail-security scanners fetch every link in a
// message. Only the button's POST confirms.
func (h *Handler) getConfirm(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	res, err := h.svc.CheckConfirm(r.Context(), tok)
	if err != nil {
		h.confirmFailed(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "subscribe_confirm", pageData{
		Title: "Confirm your subscription", Action: "/confirm", Token: tok,
		ConfirmedLists: res.Lists, Email: res.Email,
	})
}

// postConfirm confirms. The token in the form (or the query) is the
// authority: whoever holds it may confirm, so no Origin check applies.
func (h *Handler) postConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	tok := r.PostFormValue("token")
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	res, err := h.svc.Confirm(r.Context(), tok)
	if err != nil {
		h.confirmFailed(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "subscribe_confirmed", pageData{Title: "Subscription confirmed", ConfirmedLists: res.Lists, Email: res.Email})
}

// parseForm reads a POST's form within the size limit; on failure it has
// answered with an error page and returns false.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	err := r.ParseForm()
	switch {
	case err == nil:
		return true
	case isTooLarge(err):
		h.errorPage(w, response.Status(err), "Request too large", "The request is too large.")
	default:
		h.errorPage(w, response.Status(response.ErrBadRequest), "Bad request", "The request could not be read.")
	}
	return false
}

func (h *Handler) confirmFailed(w http.ResponseWriter, r *http.Request, err error) {
	status := response.Status(err)
	response.LogServerError(r, h.log, status, err)
	switch {
	case errors.Is(err, subscribers.ErrTokenExpired):
		h.errorPage(w, status, "Link expired", "This confirmation link has expired. Please subscribe again to get a new one.")
	case errors.Is(err, subscribers.ErrInvalidToken):
		h.errorPage(w, status, "Invalid link", "This confirmation link is not valid. Please copy the whole link from the email, or subscribe again.")
	default:
		h.errorPage(w, status, "Error", "Something went wrong on our side. Please try again later.")
	}
}

func (h *Handler) invalidUnsubscribe(w http.ResponseWriter, err error) {
	h.errorPage(w, response.Status(err), "Invalid link", "This unsubscribe link is not valid. Please copy the whole link from the email.")
}

func (h *Handler) getUnsubscribe(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	res, err := h.svc.CheckUnsubscribe(r.Context(), tok)
	if err != nil {
		if !errors.Is(err, subscribers.ErrInvalidToken) {
			response.LogServerError(r, h.log, response.Status(err), err)
			h.errorPage(w, response.Status(err), "Error", "Something went wrong on our side. Please try again later.")
			return
		}
		h.invalidUnsubscribe(w, err)
		return
	}
	h.render(w, http.StatusOK, "subscribe_unsubscribe", pageData{
		Title: "Unsubscribe", Action: "/unsubscribe?" + url.Values{"token": {tok}}.Encode(),
		All: res.All, ListTitle: res.List.Title, Email: res.Email,
	})
}

// postUnsubscribe handles the page's buttons and RFC 8058 one-click POSTs
// (body List-Unsubscribe=One-Click, answered with 200 and a short text).
// The token is the authority, so no Origin check applies: mail providers
// post from their own servers.
func (h *Handler) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = r.PostFormValue("token")
	}
	fromPage := r.PostFormValue("page") == "1"
	all := r.PostFormValue("all") == "1"
	res, err := h.svc.Unsubscribe(r.Context(), tok, all)
	status := response.Status(err)
	response.LogServerError(r, h.log, status, err)
	switch {
	case errors.Is(err, subscribers.ErrInvalidToken):
		if fromPage {
			h.invalidUnsubscribe(w, err)
			return
		}
		plain(w, status, "Invalid unsubscribe link.\n")
		return
	case err != nil:
		if fromPage {
			h.errorPage(w, status, "Error", "Something went wrong on our side. Please try again later.")
			return
		}
		plain(w, status, "Please try again later.\n")
		return
	}
	if !fromPage {
		plain(w, status, "Unsubscribed.\n")
		return
	}
	h.render(w, http.StatusOK, "subscribe_unsubscribed", pageData{Title: "Unsubscribed", All: res.All, ListTitle: res.List.Title, Email: res.Email})
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
