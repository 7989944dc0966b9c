package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"syscall"
	"unicode/utf8"

	"github.com/syndicated/syndicated/mail"
)

// stage is where a transaction stopped.
type stage int

const (
	stageMail stage = iota // MAIL FROM sent, no reply yet
	stageRcpt              // RCPT TO
	stageData              // DATA, before the message was written
	stageBody              // the message and its final "." were being written
	stageEnd               // the message was written in full: waiting for the reply to "."
)

// outcome is how one transaction ended.
type outcome struct {
	stage stage
	err   error // nil: accepted
	// replied: the failure was a reply from the server (the connection is
	// still in step with it); otherwise it was a network error.
	replied bool
	// reusable: the connection may serve the next message.
	reusable bool
}

// transact sends one message on c. When the server offers PIPELINING
// (RFC 2920; every mainstream server does) MAIL FROM, RCPT TO and DATA go
// in one write, and the message with its final "." in a second: two round
// trips a message, where go-mail's Send makes six (NOOP, MAIL, RCPT, DATA,
// ".", RSET). Otherwise go-mail's client runs the commands one by one. A
// successful transaction needs no RSET (RFC 5321 §4.1.1.4: the end of
// data clears the buffers).
//
// With m.Hold open, the message is written but its final "." waits for
// Hold (see mail.Message.Hold): until then the server has committed to
// nothing and a failure or a kill delivers nothing.
func transact(ctx context.Context, c *conn, m *mail.Message, from, to string, msg []byte, careful bool) outcome {
	from, to = (&netmail.Address{Address: from}).String(), (&netmail.Address{Address: to}).String()
	if !c.pipelining {
		return transactStepwise(ctx, c, m, from, to, msg)
	}
	params := ""
	if c.smtputf8 && (!isASCII(from) || !isASCII(to)) {
		params = " SMTPUTF8"
	}
	if c.chunking {
		return transactChunked(ctx, c, m, "MAIL FROM:"+from+params, "RCPT TO:"+to, msg, careful)
	}
	t := c.c.Text
	cmds := [...]struct {
		stage  stage
		expect int
		line   string
	}{
		{stageMail, 250, "MAIL FROM:" + from + params},
		{stageRcpt, 25, "RCPT TO:" + to},
		{stageData, 354, "DATA"},
	}
	for _, cmd := range cmds {
		_, _ = t.W.WriteString(cmd.line)
		_, _ = t.W.WriteString("\r\n")
	}
	if err := t.W.Flush(); err != nil {
		return outcome{stage: stageMail, err: err}
	}
	var failed *outcome
	for _, cmd := range cmds {
		_, _, err := t.ReadResponse(cmd.expect)
		var te *textproto.Error
		switch {
		case err == nil:
			if failed != nil {
				// 354 after MAIL or RCPT failed: the server waits for a
				// message we will not send; start afresh.
				return outcome{stage: failed.stage, err: failed.err, replied: true}
			}
		case errors.As(err, &te):
			if failed == nil {
				failed = &outcome{stage: cmd.stage, err: err, replied: true}
			}
		default:
			if failed != nil {
				return outcome{stage: failed.stage, err: failed.err, replied: true}
			}
			return outcome{stage: cmd.stage, err: err}
		}
	}
	if failed != nil {
		// Leave no half-open transaction behind (MAIL accepted, RCPT
		// refused) before the connection serves the next message.
		failed.reusable = t.PrintfLine("RSET") == nil && readOK(t)
		return *failed
	}
	// The message goes out in one write (the buffered writer's 4 KiB
	// would make a write syscall of every 4 KiB), with its final "."
	// unless that waits for Hold.
	c.data = appendLines(c.data[:0], msg, true)
	held := m.Held()
	if !held {
		c.data = append(c.data, ".\r\n"...)
	}
	_, _ = t.W.Write(c.data)
	if cap(c.data) > maxDataBuffer {
		c.data = nil
	}
	if err := t.W.Flush(); err != nil {
		return outcome{stage: stageBody, err: err}
	}
	if held {
		if err := m.WaitHold(ctx); err != nil {
			return outcome{stage: stageBody, err: err}
		}
		_, _ = t.W.WriteString(".\r\n")
		if err := t.W.Flush(); err != nil {
			return outcome{stage: stageBody, err: err}
		}
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return replyOrNot(stageEnd, err)
	}
	return outcome{stage: stageEnd, reusable: true}
}

// transactChunked sends one message with BDAT (RFC 3030 CHUNKING, which
// needs no dot-stuffing and no wait for a 354): MAIL FROM, RCPT TO and
// the whole message as one chunk go out in one write, and the replies are
// read once the last chunk went out. Held, the chunk is not the last and
// "BDAT 0 LAST" follows when Hold closes: until then the server has
// committed to nothing. So a message costs two writes where DATA takes
// three (commands, message, final ".") and a wait for the 354 between.
//
// Careful (a connection that sat idle, which the server may have dropped
// unseen), the last chunk also waits for the replies to MAIL, RCPT and the
// chunk: a connection found closed then fails at MAIL, safe to retry,
// where after a last chunk it could only be "maybe delivered".
//
// A server refuses the chunks of a transaction whose MAIL or RCPT it
// refused, and reads them all the same (RFC 3030 §2), so its replies stay
// in step with the commands.
func transactChunked(ctx context.Context, c *conn, m *mail.Message, mailCmd, rcptCmd string, msg []byte, careful bool) outcome {
	t := c.c.Text
	last := !careful && !m.Held()
	if !crlfOnly(msg) {
		msg = appendLines(nil, msg, false)
	}
	c.data = append(append(c.data[:0], mailCmd...), "\r\n"...)
	c.data = append(append(c.data, rcptCmd...), "\r\nBDAT "...)
	c.data = strconv.AppendInt(c.data, int64(len(msg)), 10)
	if last {
		c.data = append(c.data, " LAST"...)
	}
	c.data = append(append(c.data, "\r\n"...), msg...)
	_, _ = t.W.Write(c.data)
	if cap(c.data) > maxDataBuffer {
		c.data = nil
	}
	if err := t.W.Flush(); err != nil {
		return outcome{stage: stageMail, err: err}
	}
	r := replies{t: t, sentLast: last}
	if last {
		// The one chunk was the last: its reply is the final one.
		return r.read(want{stageMail, 250}, want{stageRcpt, 25}, want{stageEnd, 250})
	}
	if careful {
		if o := r.read(want{stageMail, 250}, want{stageRcpt, 25}, want{stageBody, 250}); o.err != nil {
			return o
		}
	}
	if err := m.WaitHold(ctx); err != nil {
		return outcome{stage: stageBody, err: err}
	}
	_, _ = t.W.WriteString("BDAT 0 LAST\r\n")
	if err := t.W.Flush(); err != nil {
		return outcome{stage: stageBody, err: err}
	}
	r.sentLast = true
	if careful {
		return r.read(want{stageEnd, 250})
	}
	return r.read(want{stageMail, 250}, want{stageRcpt, 25}, want{stageBody, 250}, want{stageEnd, 250})
}

// want is a reply the transaction waits for: the stage it answers and
// the code it should have (two digits: any of 25x).
type want struct {
	stage  stage
	expect int
}

// replies reads the replies to pipelined commands in order.
type replies struct {
	t        *textproto.Conn
	sentLast bool // the message's end went out: a lost connection may have delivered it
}

// read reads one reply for each of wants and returns the outcome: the
// first refusal (after every reply was read, and RSET, so the connection
// can serve the next message), else the network error, else success.
func (r replies) read(wants ...want) outcome {
	var failed *outcome
	for _, w := range wants {
		_, _, err := r.t.ReadResponse(w.expect)
		var te *textproto.Error
		switch {
		case err == nil:
		case errors.As(err, &te):
			if failed == nil {
				failed = &outcome{stage: w.stage, err: err, replied: true}
			}
		case failed != nil:
			return outcome{stage: failed.stage, err: failed.err, replied: true}
		case r.sentLast:
			// No refusal came before the connection failed: the server
			// may have taken the message.
			return outcome{stage: stageEnd, err: err}
		default:
			return outcome{stage: w.stage, err: err}
		}
	}
	if failed != nil {
		failed.reusable = r.t.PrintfLine("RSET") == nil && readOK(r.t)
		return *failed
	}
	return outcome{stage: stageEnd, reusable: true}
}

// transactStepwise is the transaction through go-mail's client, one
// command at a time, for servers without PIPELINING.
func transactStepwise(ctx context.Context, c *conn, m *mail.Message, from, to string, msg []byte) outcome {
	if err := c.c.Mail(from); err != nil {
		o := replyOrNot(stageMail, err)
		o.reusable = o.replied && c.c.Reset() == nil
		return o
	}
	if err := c.c.Rcpt(to); err != nil {
		o := replyOrNot(stageRcpt, err)
		o.reusable = o.replied && c.c.Reset() == nil
		return o
	}
	w, err := c.c.Data()
	if err != nil {
		o := replyOrNot(stageData, err)
		o.reusable = o.replied && c.c.Reset() == nil
		return o
	}
	if _, err := w.Write(msg); err != nil {
		return outcome{stage: stageBody, err: err}
	}
	if err := m.WaitHold(ctx); err != nil {
		return outcome{stage: stageBody, err: err}
	}
	if err := w.Close(); err != nil {
		return replyOrNot(stageEnd, err)
	}
	return outcome{stage: stageEnd, reusable: true}
}

// replyOrNot is the outcome of err at st: a reply from the server, after
// which the connection is still in step, or a network error.
func replyOrNot(st stage, err error) outcome {
	var te *textproto.Error
	replied := errors.As(err, &te)
	return outcome{stage: st, err: err, replied: replied, reusable: replied && st == stageEnd}
}

func readOK(t *textproto.Conn) bool {
	_, _, err := t.ReadResponse(250)
	return err == nil
}

// maxDataBuffer bounds the buffer a connection keeps between messages.
const maxDataBuffer = 1 << 20

// appendLines appends msg to dst with every line ending in CRLF. With
// dotStuff it is DATA content (RFC 5321 §4.5.2) without the final ".": a
// line starting with "." gets a second one.
func appendLines(dst, msg []byte, dotStuff bool) []byte {
	for len(msg) > 0 {
		if dotStuff && msg[0] == '.' {
			dst = append(dst, '.')
		}
		line, rest, found := bytes.Cut(msg, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		dst = append(append(dst, line...), '\r', '\n')
		if !found {
			break
		}
		msg = rest
	}
	return dst
}

// crlfOnly reports whether every line of msg, the last included, ends in
// CRLF, as appendLines would leave it.
func crlfOnly(msg []byte) bool {
	return bytes.HasSuffix(msg, []byte("\r\n")) && bytes.Count(msg, []byte("\n")) == bytes.Count(msg, []byte("\r\n"))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// closedWhileIdle reports whether err, the first thing read from a
// reused connection, says the server had closed it (idle clients are
// dropped after a while, with or without a 421 reply), as opposed to a
// timeout or an interruption of ours.
func closedWhileIdle(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code == 421
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
