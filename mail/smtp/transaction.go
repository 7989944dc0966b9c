package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	netmail "net/mail"
	"net/textproto"
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
// BDAT (RFC 3030 CHUNKING) would put the commands and the message in one
// write, but Postfix, which offers it, holds its reply to a pipelined
// chunk for a delayed ACK, so a message takes many times as long as with
// DATA (figures: docs/benchmarks.md); CHUNKING is not used.
//
// With m.Hold open, the message is written but its final "." waits for
// Hold (see mail.Message.Hold): until then the server has committed to
// nothing and a failure or a kill delivers nothing.
func transact(ctx context.Context, c *conn, m *mail.Message, from, to string, msg []byte) outcome {
	from, to = (&netmail.Address{Address: from}).String(), (&netmail.Address{Address: to}).String()
	if !c.pipelining {
		return transactStepwise(ctx, c, m, from, to, msg)
	}
	t := c.c.Text
	params := ""
	if c.smtputf8 && (!isASCII(from) || !isASCII(to)) {
		params = " SMTPUTF8"
	}
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
	c.data = appendData(c.data[:0], msg)
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

// appendData appends msg to dst as DATA content (RFC 5321 §4.5.2),
// without the final ".": lines end in CRLF, a line starting with "." gets
// a second one.
func appendData(dst, msg []byte) []byte {
	for len(msg) > 0 {
		if msg[0] == '.' {
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
