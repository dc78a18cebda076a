package directory

import (
	"fmt"
	"time"
)

// Opt-out scopes.
const (
	ScopeNumber  = "number"  // STOP opts out of texts from the business number texted
	ScopeCompany = "company" // STOP opts out of texts from every business number
)

// Config is how inbound texts are routed and answered.
type Config struct {
	// OptOutScope is number or company. STOPALL is always company-wide.
	OptOutScope string
	// OptOutReply is the one confirmation sent after an opt-out.
	OptOutReply string
	// OptInReply confirms START/UNSTOP/YES after an opt-out.
	OptInReply string
	// HelpReply answers HELP.
	HelpReply string
	// WaitMessage is sent when a conversation joins a queue with no agent
	// free; a queue's own wait message overrides it.
	WaitMessage string
	// Reprompt prefixes the menu when a reply matches no option.
	Reprompt string
	// Inactivity closes a conversation with no message for this long; a
	// queue's own inactivity overrides it for its conversations.
	Inactivity time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		OptOutScope: ScopeCompany,
		OptOutReply: "You are unsubscribed and will receive no more messages. Reply START to resubscribe.",
		OptInReply:  "You are resubscribed. Reply STOP to unsubscribe.",
		HelpReply:   "Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.",
		WaitMessage: "Thanks for your message. All our agents are busy; one will reply as soon as possible.",
		Reprompt:    "Sorry, we did not understand that.",
		Inactivity:  24 * time.Hour,
	}
}

func (c *Config) check() error {
	d := DefaultConfig()
	if c.OptOutScope == "" {
		c.OptOutScope = d.OptOutScope
	}
	if c.OptOutScope != ScopeNumber && c.OptOutScope != ScopeCompany {
		return fmt.Errorf("numbers.opt_out_scope: %q is not number or company", c.OptOutScope)
	}
	if c.OptOutReply == "" {
		c.OptOutReply = d.OptOutReply
	}
	if c.OptInReply == "" {
		c.OptInReply = d.OptInReply
	}
	if c.HelpReply == "" {
		c.HelpReply = d.HelpReply
	}
	if c.WaitMessage == "" {
		c.WaitMessage = d.WaitMessage
	}
	if c.Reprompt == "" {
		c.Reprompt = d.Reprompt
	}
	if c.Inactivity == 0 {
		c.Inactivity = d.Inactivity
	}
	if c.Inactivity < time.Second {
		return fmt.Errorf("numbers.inactivity: %s is shorter than 1s", c.Inactivity)
	}
	return nil
}
